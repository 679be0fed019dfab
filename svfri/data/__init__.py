"""Data used to synthesise training sets and to demonstrate relighting (CC0 HDR environment maps)."""
