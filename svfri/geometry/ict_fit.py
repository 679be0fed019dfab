"""Fit the ICT-FaceKit morphable model to the 468 Face Mesh points of one photo, and template UVs on ICT's face.

Fit (:func:`fit_ict_head`)
--------------------------
Input: MediaPipe Face Mesh's 468 points ``p_i = (u_i, v_i, d_i)`` in (work-image) pixels, ``u`` right, ``v``
down, ``d`` relative depth in pixel units, larger = nearer (:class:`svfri.geometry.face_detect.FaceMeshResult`,
as :mod:`svfri.pipeline.geometry_stage` gets them). They are taken into the right-handed pixel frame
``q_i = (u_i, -v_i, d_i)`` (``+Y`` up, ``+Z`` towards the camera: svfri's axes, :mod:`svfri.conventions`).

Model (:meth:`svfri.geometry.ict_head.IctHead.points468_basis`, cm, ICT's frame)::

    X_i(a, b) = M_i + sum_k a_k I_ki + sum_j b_j E_ji        a ~ N(0, 1) [K],  b in [0, 1] [53]

Camera: scaled orthographic, a similarity ``q_i ~ s R X_i + t'`` (``s`` px/cm, ``R`` a rotation, ``t'`` px).
Energy (Blanz & Vetter 1999's MAP fit with a Gaussian identity prior, here to sparse points)::

    E(s, R, t', a, b) = sum_i w_i |H_i (q_i - s R X_i - t')|^2 / (s sigma)^2 + |a|^2 + lambda_b |b|^2

* ``sigma`` = :data:`POINT_SIGMA_CM`: the per-coordinate noise of a Face Mesh point against its ICT
  correspondence, in cm, so the prior weight is the Gaussian prior's own (1 on ``|a|^2``).
* ``H_i`` [3, 3] the point's anisotropic weight (square root of an information matrix):
  ``diag(1, 1, sqrt(DEPTH_WEIGHT))`` for ordinary points: Face Mesh depth is regressed from one view and less
  reliable than ``(u, v)``; for the face-oval points (:data:`svfri.geometry.template.FACE_OVAL`) a **sliding
  contour**: ``H_i = sqrt(CONTOUR_WEIGHT) [n_i n_i^T, 0; 0, 0]`` with ``n_i`` the image normal of the detected
  oval at that point. Reason: on the jaw and cheeks the oval is an occluding contour, where Face Mesh places its
  points on the *silhouette* it sees, not on fixed surface points: where along the silhouette a point sits,
  and its depth, are guesses, but that the outline passes there is observed. Point-to-line (normal-only) keeps
  the observed part and lets the model's points slide along the outline; the remaining approximation is that
  the model's oval points stay fixed surface points (under a strong yaw the true silhouette moves over the
  cheek; a full treatment would re-pick the model's silhouette vertices per pose).
* ``w_i`` robust weights (iteratively reweighted least squares): Huber for the first
  :data:`HUBER_ITERATIONS` iterations (convex, safe from a rough start), then Tukey's biweight, which gives
  gross errors weight 0; scale ``sigma_r = max(median(r_i) / 1.1774, ROBUST_SCALE_FLOOR_PX)`` (the median of a
  2-D Gaussian residual's norm is ``1.1774 sigma``; the floor stops a near-perfect fit from down-weighting
  ordinary noise). ``r_i = |H0_i (q_i - s R X_i - t')|`` (``H0`` without the contour weight).

Minimised by iteratively reweighted Gauss-Newton:

1. pose init: weighted similarity (Umeyama 1991, "Least-squares estimation of transformation parameters
   between two point patterns", IEEE PAMI 13(4)) of the mean shape ``M`` onto ``q`` (``H_i`` ignored, the oval
   points at :data:`CONTOUR_WEIGHT`);
2. robust weights ``w_i`` from the current residuals (the first :data:`REWEIGHT_ITERATIONS` steps, then frozen);
3. one **joint** Gauss-Newton step on the pose ``(log s, omega, t')`` (``R <- exp([omega]_x) R``) and the shape
   ``(a, b)``: the residual is exactly linear in ``(a, b)`` and linearised in the pose; the step's normal
   equations (prior added) are a box-constrained quadratic (``0 <= b <= 1``), solved exactly by an active-set
   method (:func:`_bounded_quadratic`). Joint rather than alternating (shape with the pose fixed, then
   Procrustes on the shape): the camera scale and the identity's size modes are strongly coupled, and the
   alternation zig-zags (measured: still moving vertices by 4 mm after 12 rounds on the sample photo; the
   joint step converges in 3-7). The ``1 / (s sigma)^2`` factor is held at the current ``s`` within a step;
4. repeat 2-3 until the 468 model points move less than :data:`CONVERGENCE_CM` or :data:`MAX_ITERATIONS`.

**Weakly observable**: under a scaled-orthographic camera the head's absolute size trades against ``s``; only
the face's proportions (which the identity modes tie to size) and the prior decide it. Measured on 6 synthetic
faces: ``s`` within 2.4 % (absolute vertex rms 0.9-2.2 mm, 0.6-1.7 mm after a similarity alignment); shape errors
are quoted both ways in the tests.

Output: :class:`IctFit` (pose, weights, residuals in px). The camera follows svfri's convention (no rotation in
the camera; the mesh is posed in world space): ``world = R x`` for model vertices ``x`` (cm), and
``world_to_pixel = [[s, 0, 0, t_u], [0, -s, 0, t_v], [0, 0, 0, 1]]``; ``(t_u, t_v, t_d)`` is where ICT's origin
lands (pixels, depth in pixel units). Differences to :func:`svfri.geometry.camera.camera_from_mesh_points`:
the world origin is ICT's (inside the head), not the points' centroid, and world units are the *fitted* head's
centimetres (its outer eye corners are wherever the identity puts them, ~8.9 cm on ICT's mean), not a mesh
rescaled so that they are :data:`svfri.conventions.OUTER_EYE_CORNER_DISTANCE_CM` apart.

Template UVs on the ICT face (:func:`ict_template_uv`)
-----------------------------------------------------
svfri's networks and maps use the template's UV disc (:attr:`svfri.geometry.template.FaceTemplate.uv`). Until
they are retrained on ICT's layout, each ICT face render vertex gets the template UV of its closest point on the
template surface *as placed on the ICT neutral* by the 468-point correspondence (``points468(neutral)``,
triangulated by ``template.faces``): barycentric interpolation of the template UVs. Vertices whose closest point
is clamped to the disc's boundary (more than :data:`UV_BOUNDARY_TOLERANCE_CM` away: ears, scalp, neck) or
farther than :data:`UV_MAX_DISTANCE_CM` from it get NaN. **Approximation**: a closest-point resampling through a
registration (2-5 mm accurate between landmarks, ``models/ict_head.md``) of one face's layout, not a
parametrisation of its own.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import numpy as np
import scipy.linalg
import scipy.spatial

from svfri.geometry import mesh_ops
from svfri.geometry.ict_head import IctHead, load_ict_head
from svfri.geometry.template import FACE_OVAL, FaceTemplate, load_face_template

__all__ = [
    "IctFit", "fit_ict_head", "IctTemplateUv", "ict_template_uv", "template_uv_statistics",
    "POINT_SIGMA_CM", "EXPRESSION_PRIOR_WEIGHT", "DEPTH_WEIGHT", "CONTOUR_WEIGHT", "HUBER_K", "TUKEY_C",
    "HUBER_ITERATIONS", "MAX_ITERATIONS", "REWEIGHT_ITERATIONS", "CONVERGENCE_CM", "ROBUST_SCALE_FLOOR_PX",
    "UV_BOUNDARY_TOLERANCE_CM", "UV_MAX_DISTANCE_CM", "OUTER_EYE_CORNERS",
]

# --- fit constants (measured reasons in the comments; numbers from the sweeps in benchmarks/bench_ict_fit.py) ----
#: Per-coordinate noise (cm) of a Face Mesh point against its ICT correspondence: sets the data term's weight
#: against the N(0, 1) identity prior. Measured (the two sample photos, sigma swept 0.1 / 0.2 / 0.4): with 0.1
#: the fit is self-consistent -- the fitted identity's norm |a| is 6.9 / 7.2, near the prior's expectation
#: sqrt(K = 60) = 7.7, and the residual per coordinate is 0.074 / 0.087 cm (a fit's residual underestimates the
#: noise a little); 0.2 / 0.4 over-shrink the identity (|a| 4.1-4.6 / 2.3-2.9) and raise the residual 10-15 % /
#: 30 %. On the synthetic faces of the tests (noise 0.04 cm) the vertex rms is 0.8-1.25 mm at sigma 0.05,
#: 0.9-2.0 at 0.1, 1.3-3.3 at 0.2: the right sigma is the data's noise, and real Face Mesh points scatter more
#: about ICT than the synthetic ones.
POINT_SIGMA_CM = 0.1
#: Weight of ``|b|^2`` (expression weights, bounded in [0, 1]); small: it only breaks ties between identity
#: and expression modes (both can widen the mouth or lift the brows) towards "neutral". Measured (sweep
#: 0.3 / 1 / 3 / 10 / 30): the synthetic shape error (4 faces) stays 0.86-1.98 mm up to 3, grows at 10 and
#: 30 (up to +0.4 mm: true expressions biased); on the photos the summed expression weight falls 10.7 / 13.0
#: (0.3) -> 8.6 / 8.7 (3) -> 4.8 / 5.3 (30) for +0.006 / +0.02 px residual at 3: 3 damps spurious small
#: activations without biasing real ones.
EXPRESSION_PRIOR_WEIGHT = 3.0
#: Depth's information relative to x/y (variance ratio): sigma_depth = sigma / sqrt(0.05) ~ 4.5 sigma.
#: Face Mesh regresses depth from one view. Measured: fitted on x/y alone (depth weight 1e-6), the depth
#: residual is 4.6x (astronaut) and 4.3x (obama_2012) the per-coordinate x/y residual (ratio of variances
#: 0.047 / 0.054).
DEPTH_WEIGHT = 0.05
#: Weight of a face-oval point's normal (point-to-line) residual, relative to an ordinary point. The oval is a
#: silhouette estimate (module docstring): it alone fixes the face's width and chin height, but 36 uncertain
#: points must not dominate the 432 others. Measured on the sample photos (weight 0.1 / 0.25 / 0.5 / 1): the oval
#: rms falls 2.6 / 2.2 / 1.7 / 1.5 % (astronaut) and 3.7 / 3.3 / 2.1 / 1.4 % (obama_2012) of the eye-corner
#: distance while the other points' rise only 1.11 -> 1.16 % / 1.40 -> 1.45 %; the chin landmark moves < 0.6 px.
#: 0.5: the compromise (a judgement call: no ground truth for the jaw on these photos).
CONTOUR_WEIGHT = 0.5
#: Huber threshold and Tukey biweight constant, in units of the robust scale (the 95 %-efficiency constants
#: for a Gaussian; Huber 1964, Beaton & Tukey 1974).
HUBER_K = 1.345
TUKEY_C = 4.685
#: Iterations that use Huber before Tukey's redescending weights take over.
HUBER_ITERATIONS = 2
#: Gauss-Newton iteration limit and stop criterion (largest move of the 468 model points in one step, cm).
#: Robust weights are re-estimated in the first REWEIGHT_ITERATIONS steps only, then frozen so the last steps
#: converge (Tukey weights flipping points in and out otherwise keep moving the shape by ~2 mm on obama_2012).
#: Measured: synthetic fits stop after 3-4 steps, the sample photos after 5-7.
MAX_ITERATIONS = 10
REWEIGHT_ITERATIONS = 5
CONVERGENCE_CM = 0.01
#: Levenberg damping on the pose part of the Gauss-Newton normal equations (their scale: (px / (s sigma))^2
#: summed over 468 points, ~1e5): only guards a singular step, changes none measurably.
_POSE_DAMPING = 1e-6
#: Floor on the robust scale (px): below it, residuals are ordinary noise and must not be down-weighted (a fit to
#: noise-free points would otherwise give weight 0 to rounding-level deviations). 0.5 px: the noise of the
#: synthetic tests, below the sample photos' median residuals (0.46 / 1.40 px); approximate, not tuned.
ROBUST_SCALE_FLOOR_PX = 0.5
#: ``median |r| / sigma`` of a 2-D isotropic Gaussian residual (sqrt(2 ln 2)).
_RAYLEIGH_MEDIAN = 1.1774
#: Face Mesh outer eye corners (subject's right, left).
OUTER_EYE_CORNERS = (33, 263)
#: Smallest outer-eye-corner distance (px) the fit accepts: below it the points are degenerate.
_MIN_EYE_DISTANCE_PX = 1.0

# --- template-UV constants --------------------------------------------------------------------------------------
#: A vertex whose closest template point is on the disc's boundary counts as inside only this close (cm): the
#: boundary itself lies on the ICT surface (the 468 points are on it), so a vertex 1 mm off it is outside.
UV_BOUNDARY_TOLERANCE_CM = 0.1
#: Farther than this from the template surface (cm) a vertex gets no UV: the nasal cavity and the mouth's inside
#: (the template covers the mouth opening with flat triangles). Measured on the mapped vertices: median 0.036 cm,
#: p99 0.84 cm (inner lips rolling into the mouth, nostril rims); the 14 front-seen vertices it leaves out near
#: the nose are the septum's walls inside the nostrils (1.0-1.5 cm deep).
UV_MAX_DISTANCE_CM = 1.0
#: Template triangles searched per vertex (nearest by centroid; the template's triangles are ~1 cm).
_UV_CANDIDATE_TRIANGLES = 24


# ==================================================================================================================
# Fit
# ==================================================================================================================
@dataclasses.dataclass(frozen=True, eq=False)
class IctFit:
    """One photo's ICT fit (module docstring).

    Attributes:
      scale: ``s``, pixels per cm.
      rotation: ``[3, 3]`` ``R``, model (ICT cm) -> world (svfri axes, camera-aligned): ``world = R x``.
      translation: ``[3]`` ``(t_u, t_v, t_d)``: pixel position ``(u, v)`` and depth (pixel units, larger =
        nearer) of ICT's origin. ``(u, v, d) = (s (Rx)_x + t_u, -s (Rx)_y + t_v, s (Rx)_z + t_d)``.
      identity: ``[K]`` identity weights (``~ N(0, 1)``).
      expression: ``[53]`` expression weights in ``[0, 1]`` (:attr:`IctHead.expression_names` order).
      residuals: ``[468]`` image-plane distance (px) between each Face Mesh point and the fitted point.
      depth_residuals: ``[468]`` signed depth residual (px, Face Mesh minus fit).
      robust_weights: ``[468]`` final IRLS weights in ``[0, 1]`` (0: treated as a gross error).
      contour: ``[468]`` bool, the face-oval points fitted point-to-line.
      iterations: alternations run.
      timings: seconds: ``"basis"`` (the 468-point basis, cached after the first call), ``"fit"``.
    """

    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    residuals: np.ndarray
    depth_residuals: np.ndarray
    robust_weights: np.ndarray
    contour: np.ndarray
    iterations: int
    timings: dict

    @property
    def world_to_pixel(self) -> np.ndarray:
        """``[3, 4]`` scaled-orthographic camera of the posed (world) mesh, :mod:`svfri.geometry.camera` form."""
        s, (tu, tv, _) = self.scale, self.translation
        return np.array([[s, 0.0, 0.0, tu], [0.0, -s, 0.0, tv], [0.0, 0.0, 0.0, 1.0]])

    @property
    def model_to_pixel(self) -> np.ndarray:
        """``[3, 4]`` ``world_to_pixel @ [[R, 0], [0, 1]]``: ICT model cm -> pixels."""
        matrix = self.world_to_pixel
        matrix[:, :3] = matrix[:, :3] @ self.rotation
        return matrix

    @property
    def cm_per_pixel(self) -> float:
        return 1.0 / self.scale

    def shape(self, head: IctHead) -> np.ndarray:
        """``[V, 3]`` fitted model vertices, ICT frame, cm."""
        return head.shape(self.identity, self.expression)

    def to_world(self, model_vertices: np.ndarray) -> np.ndarray:
        """``[..., 3]`` model cm -> world cm (``R x``)."""
        return np.asarray(model_vertices, dtype=np.float64) @ self.rotation.T

    def project(self, model_vertices: np.ndarray) -> np.ndarray:
        """``[..., 3]`` model cm -> ``[..., 2]`` pixels ``(u, v)``."""
        matrix = self.model_to_pixel
        return np.asarray(model_vertices, dtype=np.float64) @ matrix[:2, :3].T + matrix[:2, 3]

    def landmarks68(self, head: IctHead) -> np.ndarray:
        """``[68, 2]`` iBUG landmarks (ICT's 68 vertices of the fitted shape) in pixels."""
        return self.project(head.landmarks68(self.shape(head)))

    def residual_rms(self, *, contour: bool = False) -> float:
        """Image-plane rms residual (px) over the ordinary points (``contour=True``: the oval points only)."""
        mask = self.contour if contour else ~self.contour
        return float(np.sqrt(np.mean(self.residuals[mask] ** 2)))


@functools.lru_cache(maxsize=2)
def _basis(head: IctHead) -> tuple[np.ndarray, np.ndarray]:
    """``mean [468, 3]`` and the modes ``[K + 53, 468, 3]`` (identity first), cm."""
    mean, identity, expression = head.points468_basis()
    return mean, np.concatenate([identity, expression], axis=0)


def _check_points(points: np.ndarray) -> np.ndarray:
    try:
        points = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"points must be a [468, 3] numeric array ({error})") from error
    if points.shape != (468, 3):
        raise ValueError(f"points must be [468, 3] Face Mesh points (u, v, depth) in pixels, got {points.shape}")
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise ValueError(f"points has {int(bad.sum())} non-finite row(s) (first {int(np.flatnonzero(bad)[0])}); "
                         "the fit needs all 468 Face Mesh points")
    eye = np.linalg.norm(points[OUTER_EYE_CORNERS[0], :2] - points[OUTER_EYE_CORNERS[1], :2])
    if eye < _MIN_EYE_DISTANCE_PX:
        raise ValueError(f"points are degenerate: the outer eye corners are {eye:.3g} px apart")
    return points


def _umeyama(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted similarity ``target ~ s R source + t`` (Umeyama 1991), ``[N, 3]`` each, ``weights [N] >= 0``."""
    w = weights / weights.sum()
    mu_s, mu_t = w @ source, w @ target
    a, b = source - mu_s, target - mu_t
    covariance = (b * w[:, None]).T @ a
    u, sigma, vt = np.linalg.svd(covariance)
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2] = -1.0
    rotation = u @ np.diag(d) @ vt
    scale = float((sigma * d).sum() / (w @ (a ** 2).sum(axis=1)))
    return scale, rotation, mu_t - scale * rotation @ mu_s


def _rodrigues(omega: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(omega))
    if angle < 1e-12:
        return np.eye(3)
    k = omega / angle
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def _skew(vectors: np.ndarray) -> np.ndarray:
    """``[N, 3]`` -> ``[N, 3, 3]`` cross-product matrices ``[v]_x``."""
    x, y, z = vectors[:, 0], vectors[:, 1], vectors[:, 2]
    zero = np.zeros_like(x)
    return np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)


def _geometric_weights(target: np.ndarray) -> np.ndarray:
    """``H0_i [468, 3, 3]``: ``diag(1, 1, sqrt(DEPTH_WEIGHT))``, or ``[n n^T, 0; 0, 0]`` on the oval."""
    halves = np.tile(np.diag([1.0, 1.0, np.sqrt(DEPTH_WEIGHT)]), (468, 1, 1))
    oval = np.asarray(FACE_OVAL)
    tangent = target[np.roll(oval, -1), :2] - target[np.roll(oval, 1), :2]
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    block = np.zeros((len(oval), 3, 3))
    block[:, :2, :2] = normal[:, :, None] * normal[:, None, :]
    halves[oval] = block
    return halves


def _bounded_quadratic(hessian: np.ndarray, linear: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                       start: np.ndarray, max_iterations: int = 500) -> np.ndarray:
    """``argmin 1/2 x^T G x - c^T x`` subject to ``lower <= x <= upper`` (``G`` positive definite): the primal
    active-set method for box constraints (Nocedal & Wright, *Numerical Optimization*, 16.5; the bounded
    least-squares of Stark & Parker's BVLS on the normal equations). Warm-started from ``start`` (clipped).

    Each iteration solves the free variables exactly with the bound ones fixed; an infeasible solution is
    followed only up to the first bound it crosses (that variable joins the bound set); a feasible one releases
    the bound variable whose gradient most violates the KKT sign condition, or is optimal. Small dense solves
    (``[k + 53]`` square) instead of :func:`scipy.optimize.lsq_linear`'s repeated ``lstsq``, which are 50x
    slower when BLAS threads compete for a loaded CPU (measured: 23 ms vs 0.4 ms per ``113 x 113`` call).
    """
    x = np.clip(start, lower, upper)
    at_lower, at_upper = x <= lower, x >= upper
    tolerance = 1e-10 * max(1.0, float(np.abs(linear).max()))
    for _ in range(max_iterations):
        free = ~(at_lower | at_upper)
        candidate = x.copy()
        if free.any():
            rhs = linear[free] - hessian[np.ix_(free, ~free)] @ x[~free]
            candidate[free] = scipy.linalg.solve(hessian[np.ix_(free, free)], rhs, assume_a="pos")
        outside = free & ((candidate < lower) | (candidate > upper))
        if outside.any():
            direction = candidate - x
            with np.errstate(divide="ignore", invalid="ignore"):
                reach = np.where(direction < 0, (lower - x) / direction,
                                 np.where(direction > 0, (upper - x) / direction, np.inf))
            reach = np.where(outside, np.clip(reach, 0.0, 1.0), np.inf)
            blocking = int(np.argmin(reach))
            x = np.clip(x + reach[blocking] * direction, lower, upper)
            if direction[blocking] < 0:
                at_lower[blocking], x[blocking] = True, lower[blocking]
            else:
                at_upper[blocking], x[blocking] = True, upper[blocking]
            continue
        x = candidate
        gradient = hessian @ x - linear
        violation = np.where(at_lower, -gradient, 0.0) + np.where(at_upper, gradient, 0.0)
        worst = int(np.argmax(violation))
        if violation[worst] <= tolerance:
            return x
        at_lower[worst] = at_upper[worst] = False
    return x


def _robust_weights(norms: np.ndarray, iteration: int) -> np.ndarray:
    sigma = max(float(np.median(norms)) / _RAYLEIGH_MEDIAN, ROBUST_SCALE_FLOOR_PX)
    z = norms / sigma
    if iteration < HUBER_ITERATIONS:
        return np.minimum(1.0, HUBER_K / np.maximum(z, 1e-12))
    return np.where(z < TUKEY_C, (1.0 - (z / TUKEY_C) ** 2) ** 2, 0.0)


def fit_ict_head(points: np.ndarray, head: IctHead | None = None, *, identity_count: int | None = None,
                 point_sigma_cm: float = POINT_SIGMA_CM, expression_prior: float = EXPRESSION_PRIOR_WEIGHT,
                 robust: bool = True) -> IctFit:
    """Fit ICT's shape model and a scaled-orthographic pose to Face Mesh's 468 points (module docstring).

    Args:
      points: ``[468, 3]`` Face Mesh points ``(u, v, depth)``: pixels, ``v`` down, depth in pixel units,
        larger = nearer.
      head: the model (default :func:`load_ict_head`).
      identity_count: identity modes fitted (default all ``K`` the head holds).
      point_sigma_cm, expression_prior: the energy's weights (defaults :data:`POINT_SIGMA_CM`,
        :data:`EXPRESSION_PRIOR_WEIGHT`).
      robust: IRLS reweighting (``False``: all weights 1; for comparisons).

    Returns:
      :class:`IctFit`.

    Raises:
      ValueError: ``points`` is not ``[468, 3]``, holds NaN/inf, or is degenerate.
    """
    points = _check_points(points)
    head = head or load_ict_head()
    clock = time.perf_counter()
    mean, modes = _basis(head)
    full_identity = head.identity_count
    k = full_identity if identity_count is None else int(identity_count)
    if not 0 <= k <= full_identity:
        raise ValueError(f"identity_count must be in [0, {full_identity}], got {identity_count}")
    modes = np.concatenate([modes[:k], modes[full_identity:]], axis=0)             # [k + 53, 468, 3]
    expression_count = modes.shape[0] - k
    basis_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    target = points * np.array([1.0, -1.0, 1.0])                                    # right-handed pixel frame
    contour = np.zeros(468, dtype=bool)
    contour[list(FACE_OVAL)] = True
    class_weight = np.where(contour, CONTOUR_WEIGHT, 1.0)
    h0 = _geometric_weights(target)
    robust_weights = np.ones(468)

    scale, rotation, translation = _umeyama(mean, target, class_weight)
    coefficients = np.zeros(modes.shape[0])
    shape = mean.copy()
    lower = np.r_[np.full(k, -np.inf), np.zeros(expression_count)]
    upper = np.r_[np.full(k, np.inf), np.ones(expression_count)]
    prior_rows = np.diag(np.r_[np.ones(k), np.full(expression_count, np.sqrt(expression_prior))])
    flat_modes = modes.reshape(modes.shape[0], 468 * 3)
    iterations = 0
    for iteration in range(MAX_ITERATIONS):
        iterations = iteration + 1
        residual = target - scale * shape @ rotation.T - translation
        if robust and iteration < REWEIGHT_ITERATIONS:
            norms = np.linalg.norm(np.einsum("nab,nb->na", h0, residual), axis=1)
            robust_weights = _robust_weights(norms, iteration)
        halves = h0 * np.sqrt(class_weight * robust_weights)[:, None, None]          # H_i [468, 3, 3]

        # -- joint Gauss-Newton step on (log s, omega, t') and (a, b): the pose linearised at the current
        # estimate, the shape exactly linear; the bounds on b kept (box-constrained quadratic). A joint step, not
        # an alternation: camera scale and the identity's size modes are strongly coupled, and alternating
        # between them zig-zags (measured: alternation still moved vertices 4 mm after 12 iterations).
        posed = scale * shape @ rotation.T                                          # Y_i, px
        residual = target - posed - translation                                     # r0
        pose_jacobian = np.concatenate([posed[:, :, None], -_skew(posed), np.tile(np.eye(3), (468, 1, 1))],
                                       axis=2)                                      # d(sRX + t')/d(log s, w, t')
        shape_jacobian = scale * np.einsum("bc,mnc->nbm", rotation, modes)         # s R B_i [468, 3, m]
        jacobian = np.concatenate([pose_jacobian, shape_jacobian], axis=2) / (scale * point_sigma_cm)
        design = np.einsum("nab,nbp->nap", halves, jacobian).reshape(468 * 3, -1)
        rhs = (np.einsum("nab,nb->na", halves, residual).ravel() / (scale * point_sigma_cm)
               + design[:, 7:] @ coefficients)
        normal = design.T @ design
        normal[7:, 7:] += prior_rows.T @ prior_rows
        normal[:7, :7] += _POSE_DAMPING * np.eye(7)
        step = _bounded_quadratic(normal, design.T @ rhs, np.r_[np.full(7, -np.inf), lower],
                                  np.r_[np.full(7, np.inf), upper], np.r_[np.zeros(7), coefficients])
        scale *= float(np.exp(step[0]))
        rotation = _rodrigues(step[1:4]) @ rotation
        translation = translation + step[4:7]
        coefficients = step[7:]
        new_shape = mean + (coefficients @ flat_modes).reshape(468, 3)
        moved = float(np.abs(new_shape - shape).max())
        shape = new_shape
        if moved < CONVERGENCE_CM and iteration >= HUBER_ITERATIONS + 1:
            break

    residual = target - scale * shape @ rotation.T - translation
    identity = np.zeros(full_identity)
    identity[:k] = coefficients[:k]
    fit_seconds = time.perf_counter() - clock
    return IctFit(
        scale=float(scale), rotation=rotation, translation=translation * np.array([1.0, -1.0, 1.0]),
        identity=identity, expression=coefficients[k:].copy(),
        residuals=np.linalg.norm(residual[:, :2], axis=1), depth_residuals=residual[:, 2],
        robust_weights=robust_weights, contour=contour, iterations=iterations,
        timings={"basis": basis_seconds, "fit": fit_seconds})


# ==================================================================================================================
# Template UVs on the ICT face
# ==================================================================================================================
@dataclasses.dataclass(frozen=True, eq=False)
class IctTemplateUv:
    """svfri template UVs on ICT's render vertices (module docstring). Arrays read-only.

    Attributes:
      uv: ``[V_r, 2]`` float32 template ``(s, t)`` of each render vertex; NaN where :attr:`mask` is False.
      mask: ``[V_r]`` bool, face-part render vertices inside the template's disc.
      distance_cm: ``[V_r]`` float32 distance to the template surface on the neutral (NaN off the face part).
      triangle: ``[V_r]`` int32 template triangle of the closest point (-1 where not computed).
      barycentric: ``[V_r, 3]`` float32 barycentric coordinates in it.
    """

    uv: np.ndarray
    mask: np.ndarray
    distance_cm: np.ndarray
    triangle: np.ndarray
    barycentric: np.ndarray


def _boundary_edges(faces: np.ndarray) -> set[tuple[int, int]]:
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return {tuple(edge) for edge in unique[counts == 1].tolist()}


def _template_uv(head: IctHead, template: FaceTemplate) -> IctTemplateUv:
    surface = head.points468(head.neutral)                                          # [468, 3] on the ICT neutral
    triangles = surface[template.faces]                                             # [F_t, 3, 3]
    face_render = np.unique(head.part_faces("face"))
    query = head.render_vertices(head.neutral.astype(np.float64))[face_render]      # [n, 3]
    tree = scipy.spatial.cKDTree(triangles.mean(axis=1))
    _, candidates = tree.query(query, k=min(_UV_CANDIDATE_TRIANGLES, len(template.faces)))
    p = triangles[candidates]                                                       # [n, C, 3, 3]
    bary = mesh_ops.closest_point_barycentrics(query[:, None, :], p[..., 0, :], p[..., 1, :], p[..., 2, :])
    closest = np.einsum("ncj,ncjd->ncd", bary, p)
    distance = np.linalg.norm(closest - query[:, None, :], axis=-1)
    best = np.argmin(distance, axis=1)
    pick = np.arange(len(query))
    triangle, bary, distance = candidates[pick, best], bary[pick, best], distance[pick, best]

    # Clamped to the disc's boundary? (closest point on a boundary edge or a boundary vertex)
    boundary = _boundary_edges(template.faces)
    boundary_vertices = {v for edge in boundary for v in edge}
    corners = template.faces[triangle]
    on_boundary = np.zeros(len(query), dtype=bool)
    zero = bary <= 1e-9
    for row in np.flatnonzero(zero.any(axis=1)):
        nonzero = corners[row][~zero[row]]
        if len(nonzero) == 1:
            on_boundary[row] = int(nonzero[0]) in boundary_vertices
        elif len(nonzero) == 2:
            on_boundary[row] = tuple(sorted(int(v) for v in nonzero)) in boundary
    inside = (~on_boundary | (distance <= UV_BOUNDARY_TOLERANCE_CM)) & (distance <= UV_MAX_DISTANCE_CM)

    count = head.render_vertex_count
    uv = np.full((count, 2), np.nan, dtype=np.float32)
    uv_values = np.einsum("nj,njd->nd", bary, template.uv[corners])
    uv[face_render[inside]] = uv_values[inside]
    mask = np.zeros(count, dtype=bool)
    mask[face_render[inside]] = True
    distances = np.full(count, np.nan, dtype=np.float32)
    distances[face_render] = distance
    triangles_out = np.full(count, -1, dtype=np.int32)
    triangles_out[face_render] = triangle
    bary_out = np.zeros((count, 3), dtype=np.float32)
    bary_out[face_render] = bary
    arrays = [uv, mask, distances, triangles_out, bary_out]
    for array in arrays:
        array.flags.writeable = False
    return IctTemplateUv(*arrays)


@functools.lru_cache(maxsize=2)
def _cached_template_uv(head: IctHead, template: FaceTemplate) -> IctTemplateUv:
    return _template_uv(head, template)


def ict_template_uv(head: IctHead | None = None, template: FaceTemplate | None = None) -> IctTemplateUv:
    """svfri template UVs for ICT's face render vertices (module docstring); computed once per (head, template)
    and cached (0.6 s on 2 shared, loaded cores, so no precomputed file)."""
    return _cached_template_uv(head or load_ict_head(), template or load_face_template())


def template_uv_statistics(head: IctHead | None = None, template: FaceTemplate | None = None) -> dict:
    """Coverage and distortion of :func:`ict_template_uv` (numbers for the report and the tests).

    Returns a dict:
      ``vertex_coverage``: fraction of the face part's render vertices with a UV;
      ``tile_area_coverage``: fraction of the face tile's UV area (ICT's own UVs) in fully mapped triangles;
      ``disc_coverage``: template-UV area of the mapped ICT triangles / the template disc's UV area;
      ``flipped_fraction``: mapped triangles (by template-UV area) whose template-UV winding is reversed;
      ``area_ratio_percentiles``: p5, p50, p95 of ``(template UV area / 3-D area)`` over the median, per
      mapped triangle (1 = uniform texel density); ``ict_area_ratio_percentiles``: the same for ICT's own UVs;
      ``distance_cm_percentiles``: p50, p99, max distance of mapped vertices to the template surface.
    """
    head = head or load_ict_head()
    template = template or load_face_template()
    result = ict_template_uv(head, template)
    faces = head.part_faces("face")
    mapped = result.mask[faces].all(axis=1)
    positions = head.render_vertices(head.neutral.astype(np.float64))

    def signed_area_2d(uv: np.ndarray, tri: np.ndarray) -> np.ndarray:
        a, b, c = uv[tri[:, 0]], uv[tri[:, 1]], uv[tri[:, 2]]
        return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))

    p = positions[faces[mapped]]
    area3d = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    template_area = signed_area_2d(result.uv.astype(np.float64), faces[mapped])
    ict_area_all = signed_area_2d(head.render_uv.astype(np.float64), faces)
    orientation = np.sign(np.median(template_area))
    valid = area3d > 1e-10
    ratio = np.abs(template_area[valid]) / area3d[valid]
    ict_ratio = np.abs(ict_area_all[mapped][valid]) / area3d[valid]
    disc_area = np.abs(signed_area_2d(template.uv, template.faces)).sum()
    distance = result.distance_cm[result.mask]
    return {
        "vertex_coverage": float(result.mask[np.unique(faces)].mean()),
        "tile_area_coverage": float(np.abs(ict_area_all[mapped]).sum() / np.abs(ict_area_all).sum()),
        "disc_coverage": float(np.abs(template_area).sum() / disc_area),
        "flipped_fraction": float(np.abs(template_area[np.sign(template_area) != orientation]).sum()
                                  / np.abs(template_area).sum()),
        "area_ratio_percentiles": [float(x) for x in np.percentile(ratio / np.median(ratio), [5, 50, 95])],
        "ict_area_ratio_percentiles": [float(x) for x in np.percentile(ict_ratio / np.median(ict_ratio),
                                                                          [5, 50, 95])],
        "distance_cm_percentiles": [float(np.percentile(distance, 50)), float(np.percentile(distance, 99)),
                                    float(distance.max())],
        "mapped_triangles": int(mapped.sum()), "face_triangles": int(len(faces)),
    }
