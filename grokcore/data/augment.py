"""li-sakib §4 image augmentation for MNIST: a random rotation, then a 3×3 Gaussian blur.

li-sakib §4 (Table 3): "The degree of augmentation is specified by two parameters: a Random
Rotation with an angle of σ × 30°, and a Gaussian Blur characterized by a kernel size of 3 and
a standard deviation of σ/2". Their code is not public (REFERENCES P11, M4); the names are
torchvision's `RandomRotation(degrees=σ·30)` and `GaussianBlur(kernel_size=3, sigma=σ/2)`, and we
take those transforms' behaviour:

* the angle is drawn afresh for every image each time it is used, uniform in [−σ·30°, σ·30°]
  (`RandomRotation.get_params`), about the image centre, nearest-neighbour (torchvision's default
  interpolation), zeros outside the image;
* the blur's std is σ/2 on both axes, fixed (a float `sigma` gives torchvision the range
  (σ/2, σ/2)), with reflected borders (torchvision's and kornia's default).

Both run batched on CPU or GPU through kornia (`kornia.geometry.transform.rotate`,
`kornia.filters.gaussian_blur2d`), imported lazily: grokcore works without kornia until an
augmentation is asked for. Angles come from the caller's seeded CPU generator, so a run's
augmentations are reproducible and independent of its companions in an ensemble.
"""

from __future__ import annotations

import math

import torch

DEGREES_PER_SIGMA = 30.0  # li-sakib §4: rotation by σ × 30°
BLUR_KERNEL = 3  # li-sakib §4: "kernel size of 3"


def _kornia():
    try:
        import kornia  # lazy: an optional dependency, needed only for augmentation
    except ImportError as e:
        raise ImportError(
            "MNIST augmentation (MnistTask.augment > 0, li-sakib §4) needs kornia, which is not "
            "installed: pip install kornia (or pip install -e '.[aug]')"
        ) from e
    return kornia


def rotation_angles(n: int, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """(n,) float64 angles in degrees, uniform in [−σ·30, σ·30], from `generator` (CPU)."""
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    return (2.0 * u - 1.0) * (sigma * DEGREES_PER_SIGMA)


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate (B, 1, side, side) images counter-clockwise by per-image `degrees` (B,), about the
    centre, nearest-neighbour, zero fill (torchvision `RandomRotation` defaults)."""
    k = _kornia()
    angle = degrees.to(images.device, images.dtype)
    return k.geometry.transform.rotate(images, angle, mode="nearest", padding_mode="zeros")


def blur(images: torch.Tensor, std: float) -> torch.Tensor:
    """Gaussian blur of (B, 1, side, side) images, kernel 3×3, std > 0 on both axes, reflected
    borders (torchvision `GaussianBlur(3, sigma=std)` with a float sigma)."""
    k = _kornia()
    return k.filters.gaussian_blur2d(images, (BLUR_KERNEL, BLUR_KERNEL), (std, std))


def augment(x: torch.Tensor, sigma: float, angles: torch.Tensor) -> torch.Tensor:
    """li-sakib's augmentation of flattened images: rotate each by its angle, then blur them
    with std σ/2. x: (B, side²), 28×28 MNIST or a pooled square (`MnistTask.pool`); angles:
    (B,) degrees; σ > 0. Returns x's shape and dtype."""
    side = math.isqrt(x.shape[1]) if x.ndim == 2 else 0
    if x.ndim != 2 or side < BLUR_KERNEL or side * side != x.shape[1]:
        raise ValueError(
            f"augment expects flattened square images (B, side²), e.g. 28×28 = 784, got "
            f"{tuple(x.shape)}"
        )
    if len(angles) != len(x):
        raise ValueError(f"augment: {len(x)} images but {len(angles)} angles")
    if not sigma > 0:
        raise ValueError(f"augment: σ must be positive, got {sigma} (σ = 0 means none)")
    images = x.reshape(-1, 1, side, side)
    return blur(rotate(images, angles), sigma / 2).reshape(x.shape)


class Augmenter:
    """Per-member augmentation for an ensemble: member i with σ_i > 0 draws its angles from its
    own generator (seeded by its run), members with σ = 0 pass through untouched."""

    def __init__(self, sigmas: list[float], generators: list[torch.Generator]):
        if len(sigmas) != len(generators):
            raise ValueError(f"{len(sigmas)} σ for {len(generators)} generators")
        self.members = [i for i, s in enumerate(sigmas) if s > 0]
        self.sigmas = sigmas
        self.generators = generators
        if self.members:
            _kornia()  # fail before training, naming kornia, if it is missing

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x: (K, B, side²) per-member batches -> the same with each augmenting member's rows
        replaced by their augmentation (a new tensor; x is not modified). Members sharing a σ
        are augmented as one batch."""
        if not self.members:
            return x
        b = x.shape[1]
        out = x.clone()
        for sigma in sorted({self.sigmas[i] for i in self.members}):
            idx = [i for i in self.members if self.sigmas[i] == sigma]
            angles = torch.cat([rotation_angles(b, sigma, self.generators[i]) for i in idx])
            rows = torch.tensor(idx, device=x.device)
            flat = x[rows].reshape(-1, x.shape[2])
            out[rows] = augment(flat, sigma, angles).view(len(idx), b, -1)
        return out
