"""Per-photo jobs composed from the library (geometry stage, fit, relight, export) and the batch runner."""
