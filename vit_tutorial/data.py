"""Images and data sets that ship with the packages the course already installs.

Nothing here downloads anything: the course runs offline.
"""

from __future__ import annotations

import torch

from vit_tutorial.checks import to_pair

__all__ = ["grace_hopper", "sample_image", "digits", "place_digits"]


def grace_hopper(image_size: int | tuple[int, int] = 224) -> torch.Tensor:
    """The photo of Grace Hopper that matplotlib ships, as a float image in [0, 1].

    The photo (600 × 512 pixels, portrait) is resized with torchvision's transforms so that
    its shorter side covers the requested size, then centre-cropped to it.

    Args:
        image_size: $H$ = $W$, or ``(H, W)``.

    Returns:
        ``(3, H, W)`` float32 tensor with values in [0, 1].
    """
    from matplotlib import cbook
    from PIL import Image  # Pillow comes with matplotlib
    from torchvision.transforms import v2

    H, W = to_pair(image_size, "image_size")
    with cbook.get_sample_data("grace_hopper.jpg") as f:  # bundled with matplotlib
        photo = Image.open(f).convert("RGB")
    transform = v2.Compose([
        v2.PILToTensor(),  # PIL image -> (3, 600, 512) uint8 tensor
        v2.Resize(max(H, W), antialias=True),  # shorter side -> max(H, W)
        v2.CenterCrop((H, W)),
        v2.ToDtype(torch.float32, scale=True),  # uint8 0..255 -> float 0..1
    ])
    return transform(photo)  # (3, H, W)


def sample_image(name: str = "grace_hopper.jpg") -> torch.Tensor:
    """One of the pictures matplotlib ships, whole, as a float RGB image in [0, 1] (a
    transparent background becomes white): ``"grace_hopper.jpg"`` (600 × 512, a photo),
    ``"logo2.png"`` (130 × 542, matplotlib's logo) or ``"Minduka_Present_Blue_Pack.png"``
    (128 × 128).

    Returns:
        ``(3, H, W)`` float32.
    """
    from matplotlib import cbook
    from PIL import Image  # Pillow comes with matplotlib

    choices = ("grace_hopper.jpg", "logo2.png", "Minduka_Present_Blue_Pack.png")
    if name not in choices:
        raise ValueError(f"name must be one of {', '.join(map(repr, choices))}, got {name!r}")
    with cbook.get_sample_data(name) as f:  # bundled with matplotlib
        picture = Image.open(f).convert("RGBA")
    white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, picture).convert("RGB")
    pixels = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8)
    return pixels.reshape(rgb.size[1], rgb.size[0], 3).permute(2, 0, 1).float() / 255


DIGITS_TEST_SIZE = 360  # of 1,797 images: 20 % held out, the same split for every lesson
DIGITS_SPLIT_SEED = 0


def digits(split: str, image_size: int | tuple[int, int] = 28
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 handwritten digits, ready for TinyViT.

    The 8×8 images (values 0–16) are scaled to [0, 1] and upsampled with bilinear
    interpolation to ``image_size`` (28 gives a 7×7 grid of 4×4 patches; 56 gives 14×14 in
    lesson 06; an ``(H, W)`` pair stretches them to another aspect). The train/test split is
    fixed: a seeded permutation puts 360 images in "test" and 1,437 in "train", the same for
    every call and every lesson.

    Args:
        split: ``"train"`` or ``"test"``.
        image_size: side of the square output images, or ``(H, W)``; each side ≥ 8.

    Returns:
        ``(images, labels)``: ``(n, 1, H, W)`` float32 in [0, 1] and ``(n,)`` int64.
    """
    import torch.nn.functional as F
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    H, W = to_pair(image_size, "image_size")
    if min(H, W) < 8:
        raise ValueError(f"image_size must be at least 8 on each side (the digits are 8×8), got "
                         f"{image_size!r}")
    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16  # (1797, 1, 8, 8)
    labels = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(DIGITS_SPLIT_SEED))
    index = order[:DIGITS_TEST_SIZE] if split == "test" else order[DIGITS_TEST_SIZE:]
    images = F.interpolate(images[index], size=(H, W), mode="bilinear",
                           align_corners=False)  # (n, 1, 8, 8) -> (n, 1, H, W)
    return images.clamp_(0, 1), labels[index]


def place_digits(digits: torch.Tensor, canvas: int, overhang: int = 0,
                 generator: torch.Generator | None = None, centred: bool = False
                 ) -> torch.Tensor:
    """Paste each digit at a random place on a larger, empty canvas.

    Each ``S × S`` digit lands with its top-left corner at a random whole pixel, and may
    stick out of every border by up to ``overhang`` pixels (what sticks out is cut off),
    so that border and corner patches see strokes too.

    Args:
        digits: ``(B, C, S, S)`` images (e.g. ``digits("train", 20)[0]``).
        canvas: side of the square canvas, in pixels.
        overhang: how far a digit may stick out of the canvas, in pixels.
        generator: the random numbers (a seeded ``torch.Generator`` for a fixed test set).
        centred: put every digit in the middle instead (no randomness).

    Returns:
        ``(B, C, canvas, canvas)``, on the digits' device and in their dtype.
    """
    from vit_tutorial.checks import check_positive_int, check_tensor

    check_tensor(digits, "digits")
    if digits.ndim != 4 or digits.shape[-1] != digits.shape[-2]:
        raise ValueError(f"digits must be square images (B, C, S, S), got "
                         f"{tuple(digits.shape)}")
    canvas = check_positive_int(canvas, "canvas")
    B, C, S, _ = digits.shape
    if isinstance(overhang, bool) or not isinstance(overhang, int) or not \
            0 <= overhang < S:
        raise ValueError(f"overhang must be a whole number from 0 to {S - 1} (the digit is "
                         f"{S} pixels), got {overhang!r}")
    low, high = -overhang, canvas - S + overhang  # the top-left corner's range
    if high < low:
        raise ValueError(f"a {S}-pixel digit doesn't fit a {canvas}-pixel canvas with "
                         f"overhang {overhang}; use a larger canvas or a smaller digit")
    if centred:
        corners = torch.full((2, B), (canvas - S) // 2)
    else:
        corners = torch.randint(low, high + 1, (2, B), generator=generator)
    pad = overhang  # paste onto a canvas padded on every side, then cut the padding off
    big = torch.zeros(B, C, canvas + 2 * pad, canvas + 2 * pad, dtype=digits.dtype,
                      device=digits.device)
    span = torch.arange(S, device=digits.device)
    rows = (corners[0].to(digits.device) + pad)[:, None] + span  # (B, S)
    cols = (corners[1].to(digits.device) + pad)[:, None] + span  # (B, S)
    batch = torch.arange(B, device=digits.device)[:, None, None, None]  # (B, 1, 1, 1)
    channel = torch.arange(C, device=digits.device)[None, :, None, None]  # (1, C, 1, 1)
    big[batch, channel, rows[:, None, :, None], cols[:, None, None, :]] = digits
    return big[:, :, pad:pad + canvas, pad:pad + canvas].contiguous()
