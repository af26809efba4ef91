"""Lesson 06: resize_pos_embed, zoom_pos_embed and the lesson's figures (Sec. 3.2)."""

import pytest
import torch

from vit_tutorial.interpolation import MODES, resize_pos_embed, zoom_pos_embed

D = 16  # a small embedding width keeps the tests fast; the ViT-B/16 case uses 768

CASES = [  # (old grid (H/P, W/P), new grid (H'/P, W'/P))
    ((7, 7), (14, 14)),  # the digits lessons' 7x7 grid, doubled
    ((14, 14), (24, 24)),  # ViT-B/16: 224 -> 384 (Sec. 3.2)
    ((7, 7), (5, 9)),  # square -> non-square, shrinking the height
    ((4, 6), (8, 3)),  # non-square -> non-square, shrinking the width
]

# Every accepted (mode, align_corners, antialias) combination.
SETTINGS = [("nearest", False, False), ("area", False, False)] + [
    (mode, align, aa) for mode in ("bilinear", "bicubic") for align in (False, True)
    for aa in (False, True)
]


def make_pos_embed(grid, prefix, dim=D, seed=0, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, prefix + grid[0] * grid[1], dim, generator=generator, dtype=dtype)


@pytest.mark.parametrize("prefix", [0, 1, 2])
@pytest.mark.parametrize("old, new", CASES)
def test_shapes_and_prefix_unchanged(old, new, prefix):
    pos_embed = make_pos_embed(old, prefix)
    out = resize_pos_embed(pos_embed, new, old_grid_size=old, num_prefix_tokens=prefix)
    assert out.shape == (1, prefix + new[0] * new[1], D)
    assert torch.equal(out[:, :prefix], pos_embed[:, :prefix])
    single = resize_pos_embed(pos_embed[0], new, old_grid_size=old, num_prefix_tokens=prefix)
    assert single.shape == (prefix + new[0] * new[1], D)
    torch.testing.assert_close(single, out[0], rtol=0, atol=0)
    if old[0] == old[1]:  # a square old grid can be inferred
        inferred = resize_pos_embed(pos_embed, new, num_prefix_tokens=prefix)
        torch.testing.assert_close(inferred, out, rtol=0, atol=0)


def test_vit_b16_at_384():
    """Sec. 3.2: ViT-B/16 fine-tuned at 384x384 needs 577 rows instead of 197."""
    out = resize_pos_embed(torch.randn(1, 197, 768), 24)
    assert out.shape == (1, 577, 768)


def test_int_and_pair_grid_sizes_agree():
    pos_embed = make_pos_embed((7, 7), 1)
    torch.testing.assert_close(resize_pos_embed(pos_embed, 14, 7),
                               resize_pos_embed(pos_embed, (14, 14), (7, 7)), rtol=0, atol=0)


@pytest.mark.parametrize("mode, align_corners, antialias", SETTINGS)
def test_same_grid_is_identity(mode, align_corners, antialias):
    pos_embed = make_pos_embed((4, 6), 1)
    out = resize_pos_embed(pos_embed, (4, 6), (4, 6), mode=mode, align_corners=align_corners,
                           antialias=antialias)
    torch.testing.assert_close(out, pos_embed, rtol=0, atol=1e-6)
    assert out is not pos_embed  # a new tensor, never an alias of the parameter


@pytest.mark.parametrize("mode, align_corners, antialias", SETTINGS)
@pytest.mark.parametrize("new", [(14, 14), (5, 9), (3, 3)])
def test_constant_grid_stays_constant(new, mode, align_corners, antialias):
    """Every method's weights sum to 1, so a constant map stays that constant."""
    pos_embed = torch.full((1, 1 + 49, D), 0.7)
    pos_embed[:, 0] = -3.0  # a class token with another value must not leak into the grid
    out = resize_pos_embed(pos_embed, new, mode=mode, align_corners=align_corners,
                           antialias=antialias)
    torch.testing.assert_close(out[:, 1:], torch.full_like(out[:, 1:], 0.7), rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode, align_corners, antialias", SETTINGS)
@pytest.mark.parametrize("new", [(14, 14), (5, 9), (24, 24)])
def test_column_ramp_stays_monotone_and_row_free(new, mode, align_corners, antialias):
    """A map that grows left to right (value = column index) still does after resizing,
    and stays the same in every row: width and height are resized independently."""
    gh, gw = 7, 7
    ramp = torch.arange(gw, dtype=torch.float32).expand(gh, gw)  # (H/P, W/P)
    grid = ramp.reshape(1, gh * gw, 1).expand(1, gh * gw, 3)  # (H/P, W/P) -> (1, N, D=3)
    out = resize_pos_embed(grid, new, num_prefix_tokens=0, mode=mode,
                           align_corners=align_corners, antialias=antialias)
    maps = out[0].T.reshape(3, *new)  # (N', D) -> (D, N') -> (D, H'/P, W'/P)
    assert (maps.diff(dim=-1) >= -1e-6).all()
    torch.testing.assert_close(maps, maps[:, :1].expand_as(maps), rtol=0, atol=1e-5)
    assert maps[:, :, -1].min() > maps[:, :, 0].max()  # the ramp still rises overall


def test_row_major_order_matches_conv_flatten():
    """Grid rows are read in the order Conv2d(...).flatten(2).transpose(1, 2) writes them:
    a map that is 1 in the top row only stays in the top rows after resizing."""
    image = torch.zeros(1, 1, 4, 6)
    image[..., 0, :] = 1.0
    tokens = image.flatten(2).transpose(1, 2)  # (1, 1, 4, 6) -> (1, 1, 24) -> (1, 24, 1)
    out = resize_pos_embed(tokens, (8, 12), (4, 6), num_prefix_tokens=0, mode="nearest")
    expected = torch.zeros(1, 1, 8, 12)
    expected[..., :2, :] = 1.0
    torch.testing.assert_close(out, expected.flatten(2).transpose(1, 2), rtol=0, atol=0)


@pytest.mark.parametrize("image_size, patch_size, old_image_size", [
    (384, 16, 224),  # ViT-B/16 at 384: 14x14 -> 24x24
    (56, 4, 28),  # 7x7 -> 14x14
    (16, 4, 28),  # 7x7 -> 4x4, shrinking
])
def test_agrees_with_torchvision(image_size, patch_size, old_image_size):
    """torchvision's interpolate_embeddings: bicubic, align_corners=True, class token kept."""
    from torchvision.models.vision_transformer import interpolate_embeddings

    old = old_image_size // patch_size
    dim = 768 if patch_size == 16 else D
    pos_embed = make_pos_embed((old, old), 1, dim=dim)
    state = interpolate_embeddings(image_size, patch_size,
                                   {"encoder.pos_embedding": pos_embed.clone()})
    ours = resize_pos_embed(pos_embed, image_size // patch_size, mode="bicubic",
                            align_corners=True)
    torch.testing.assert_close(ours, state["encoder.pos_embedding"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("old, new, prefix", [
    ((14, 14), (24, 24), 1),  # ViT-B/16 at 384
    ((4, 6), (8, 3), 2),  # non-square, two prefix tokens (e.g. class + distillation token)
    ((14, 14), (7, 7), 0),  # shrinking, where antialias filters
    ((7, 7), (5, 9), 1),  # square -> non-square
])
def test_agrees_with_timm(old, new, prefix):
    """timm's resample_abs_pos_embed: bicubic, antialias=True, align_corners=False."""
    from timm.layers import resample_abs_pos_embed

    pos_embed = make_pos_embed(old, prefix)
    expected = resample_abs_pos_embed(pos_embed, new_size=list(new), old_size=list(old),
                                      num_prefix_tokens=prefix, interpolation="bicubic",
                                      antialias=True, align_corners=False)
    ours = resize_pos_embed(pos_embed, new, old, num_prefix_tokens=prefix, mode="bicubic",
                            align_corners=False, antialias=True)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6)


def max_diff(a, b):
    return float((a - b).abs().max())


def test_the_settings_matter():
    """The flags reach F.interpolate: ignoring any of them would change these numbers."""
    down = make_pos_embed((14, 14), 1)
    assert max_diff(resize_pos_embed(down, 7), resize_pos_embed(down, 7, antialias=True)) > 1e-2
    up = make_pos_embed((7, 7), 1)
    plain = resize_pos_embed(up, 14)
    assert max_diff(plain, resize_pos_embed(up, 14, align_corners=True)) > 1e-2
    assert max_diff(plain, resize_pos_embed(up, 14, mode="bilinear")) > 1e-2
    assert max_diff(plain, resize_pos_embed(up, 14, mode="nearest")) > 1e-2
    # upsampling by a whole factor, area equals nearest; shrinking, area averages
    assert max_diff(resize_pos_embed(down, 7, mode="nearest"),
                    resize_pos_embed(down, 7, mode="area")) > 1e-2


def test_bicubic_antialias_changes_upsampling_too():
    """PyTorch's anti-aliased bicubic uses another cubic kernel (a = -0.5, not -0.75) and
    border rule, so timm's setting differs from plain bicubic even when the grid grows.
    For bilinear, antialias makes no difference when upsampling."""
    up = make_pos_embed((7, 7), 1)
    assert max_diff(resize_pos_embed(up, 14), resize_pos_embed(up, 14, antialias=True)) > 1e-2
    torch.testing.assert_close(resize_pos_embed(up, 14, mode="bilinear"),
                               resize_pos_embed(up, 14, mode="bilinear", antialias=True),
                               rtol=0, atol=1e-5)


def test_gradient_flows_to_the_input():
    pos_embed = make_pos_embed((7, 7), 1).requires_grad_()
    resize_pos_embed(pos_embed, (5, 9)).sum().backward()
    assert torch.equal(pos_embed.grad[:, 0], torch.ones(1, D))  # the class token is copied
    # each output is a weighted mean (weights sum to 1), so the grid's gradient sums to N'·D
    torch.testing.assert_close(pos_embed.grad[:, 1:].sum(),
                               torch.tensor(5 * 9 * D, dtype=torch.float32))


def test_as_a_parameter_in_a_module():
    """Resizing an nn.Parameter gives a tensor that can become the new model's parameter."""
    param = torch.nn.Parameter(make_pos_embed((7, 7), 1))
    new = torch.nn.Parameter(resize_pos_embed(param.detach(), 14))
    assert new.shape == (1, 197, D) and new.requires_grad


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_keeps_dtype(dtype):
    pos_embed = make_pos_embed((7, 7), 1, dtype=dtype)
    out = resize_pos_embed(pos_embed, 14)
    assert out.dtype == dtype and out.device == pos_embed.device
    reference = resize_pos_embed(pos_embed.double(), 14)
    tolerance = {torch.float16: 1e-2, torch.bfloat16: 5e-2}.get(dtype, 1e-5)
    torch.testing.assert_close(out.double(), reference, rtol=0, atol=tolerance)


def test_float64_is_computed_in_float64():
    pos_embed = make_pos_embed((7, 7), 1, dtype=torch.float64)
    out = resize_pos_embed(pos_embed, 7)
    torch.testing.assert_close(out, pos_embed, rtol=0, atol=1e-12)


# --- the original code's scipy zoom --------------------------------------------------------


def test_zoom_shapes_and_prefix():
    for prefix in (0, 1, 2):
        pos_embed = make_pos_embed((7, 7), prefix)
        out = zoom_pos_embed(pos_embed, 14, num_prefix_tokens=prefix)
        assert out.shape == (1, prefix + 196, D) and out.dtype == pos_embed.dtype
        assert torch.equal(out[:, :prefix], pos_embed[:, :prefix])
        torch.testing.assert_close(zoom_pos_embed(pos_embed[0], 14, num_prefix_tokens=prefix),
                                   out[0], rtol=0, atol=0)
    out = zoom_pos_embed(make_pos_embed((4, 6), 1), (8, 3), (4, 6))
    assert out.shape == (1, 1 + 24, D)


def test_zoom_matches_scipy_called_as_the_original():
    """The original: grid (H/P, W/P, D),
    scipy.ndimage.zoom(grid, (new/old, new/old, 1), order=1)."""
    import numpy as np
    from scipy import ndimage

    pos_embed = make_pos_embed((14, 14), 1)
    posemb_tok, posemb_grid = pos_embed[:, :1].numpy(), pos_embed[0, 1:].numpy()
    grid = posemb_grid.reshape(14, 14, -1)
    grid = ndimage.zoom(grid, (24 / 14, 24 / 14, 1), order=1)
    expected = np.concatenate([posemb_tok, grid.reshape(1, 24 * 24, -1)], axis=1)
    torch.testing.assert_close(zoom_pos_embed(pos_embed, 24), torch.from_numpy(expected),
                               rtol=0, atol=1e-6)


def test_zoom_by_hand_puts_corners_on_corners():
    """2x2 -> 3x3: the corners keep their values and the new points fall halfway between."""
    grid = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    pos_embed = torch.cat([torch.tensor([[9.0]]), grid.reshape(4, 1)])  # class token + (N, D=1)
    out = zoom_pos_embed(pos_embed, 3)
    expected = torch.tensor([9.0, 0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]).reshape(10, 1)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("old, new", CASES + [((14, 14), (7, 7)), ((7, 7), (1, 1))])
def test_zoom_equals_bilinear_with_align_corners(old, new):
    """scipy's zoom (grid_mode=False) lines up corner samples, like align_corners=True."""
    pos_embed = make_pos_embed(old, 1, dtype=torch.float64)
    torch.testing.assert_close(
        zoom_pos_embed(pos_embed, new, old),
        resize_pos_embed(pos_embed, new, old, mode="bilinear", align_corners=True),
        rtol=0, atol=1e-6)


def test_zoom_differs_from_align_corners_false():
    pos_embed = make_pos_embed((7, 7), 1)
    assert max_diff(zoom_pos_embed(pos_embed, 14),
                    resize_pos_embed(pos_embed, 14, mode="bilinear")) > 1e-2


# --- errors that teach ---------------------------------------------------------------------


def test_non_tensor_input():
    import numpy as np

    with pytest.raises(TypeError,
                       match=r"pos_embed must be a torch.Tensor, got ndarray.*from_numpy"):
        resize_pos_embed(np.zeros((1, 50, 8)), 14)
    with pytest.raises(TypeError, match=r"pos_embed must be a torch.Tensor, got list"):
        zoom_pos_embed([[0.0]], 14)


@pytest.mark.parametrize("bad, error, message", [
    (torch.zeros(50), ValueError, r"\(1, prefix \+ N, D\) or \(prefix \+ N, D\), got 1 dimensions"),
    (torch.zeros(1, 1, 50, 8), ValueError, r"got 4 dimensions \(1, 1, 50, 8\)"),
    (torch.zeros(4, 50, 8), ValueError, r"got 3 dimensions \(4, 50, 8\).*not a batch of tokens"),
    (torch.zeros(1, 50, 8, dtype=torch.long), TypeError,
     r"floating-point.*torch.int64.*\.float\(\)"),
])
def test_bad_pos_embed(bad, error, message):
    with pytest.raises(error, match=message):
        resize_pos_embed(bad, 14)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(new_grid_size=0), ValueError, r"new_grid_size must be a positive int, got 0"),
    (dict(new_grid_size=(14, -2)), ValueError,
     r"new_grid_size\[1\] \(width\) must be a positive int, got -2"),
    (dict(new_grid_size=14.0), TypeError,
     r"new_grid_size must be an int or an \(h, w\) pair of ints, got 14\.0"),
    (dict(new_grid_size=(14, 14, 14)), ValueError, r"got \(14, 14, 14\) with 3 entries"),
    (dict(old_grid_size=0), ValueError, r"old_grid_size must be a positive int, got 0"),
    (dict(old_grid_size=(7, 7.0)), TypeError,
     r"old_grid_size\[1\] \(width\) must be a positive int, got 7\.0"),
    (dict(num_prefix_tokens=-1), ValueError, r"num_prefix_tokens must be an int >= 0, got -1"),
    (dict(num_prefix_tokens=True), TypeError,
     r"num_prefix_tokens must be an int >= 0, got True of type bool"),
    (dict(num_prefix_tokens=50), ValueError,
     r"num_prefix_tokens=50 leaves no grid positions: pos_embed has only 50"),
    (dict(num_prefix_tokens=60), ValueError, r"num_prefix_tokens=60 leaves no grid positions"),
])
def test_bad_sizes(kwargs, error, message):
    args = dict(pos_embed=torch.zeros(1, 50, 8), new_grid_size=14) | kwargs
    with pytest.raises(error, match=message):
        resize_pos_embed(**args)


@pytest.mark.parametrize("tokens, kwargs, message", [
    # 1 + 49 tokens, but the caller says the grid is 8x8
    (50, dict(old_grid_size=(8, 8)),
     r"pos_embed has 50 tokens = 1 prefix \+ 49 grid positions, but old_grid_size \(8, 8\) "
     r"needs 8·8 = 64; pass the grid the embeddings were trained on"),
    # 49 tokens with no class token, read as if it had one
    (49, dict(old_grid_size=7),
     r"49 tokens = 1 prefix \+ 48 grid positions, but old_grid_size \(7, 7\) needs 7·7 = 49.*"
     r"did you mean num_prefix_tokens=0\?"),
    # 197 tokens (class token + 14x14) read as if there were none
    (197, dict(old_grid_size=14, num_prefix_tokens=0),
     r"197 tokens = 0 prefix \+ 197 grid positions.*did you mean num_prefix_tokens=1\?"),
    # a non-square grid cannot be inferred
    (1 + 24, dict(),
     r"cannot infer the old grid: pos_embed has 25 tokens = 1 prefix \+ 24 grid positions, and "
     r"24 is not a perfect square.*pass old_grid_size=\(h, w\) with h·w = 24"),
    # 49 tokens with no class token: the hint names num_prefix_tokens=0
    (49, dict(),
     r"48 is not a perfect square.*or num_prefix_tokens=0 if the model has 0 prefix token\(s\) "
     r"\(49 = 0 \+ 7·7\)"),
])
def test_token_count_does_not_fit_the_grid(tokens, kwargs, message):
    with pytest.raises(ValueError, match=message):
        resize_pos_embed(torch.zeros(1, tokens, 8), 14, **kwargs)
    if "old_grid_size" not in kwargs:  # the original's zoom infers square grids the same way
        with pytest.raises(ValueError, match=message):
            zoom_pos_embed(torch.zeros(1, tokens, 8), 14, **kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(mode="cubic"), ValueError,
     r"mode must be one of 'nearest', 'bilinear', 'bicubic', 'area', got 'cubic'"),
    (dict(mode="trilinear"), ValueError, r"mode must be one of .*got 'trilinear'"),
    (dict(mode="nearest", align_corners=True), ValueError,
     r"align_corners=True only applies to mode 'bilinear' or 'bicubic', got mode 'nearest'; "
     r"pass align_corners=False"),
    (dict(mode="area", antialias=True), ValueError,
     r"antialias=True only applies to mode 'bilinear' or 'bicubic', got mode 'area'"),
    (dict(align_corners=None), TypeError, r"align_corners must be True or False, got None"),
    (dict(antialias=1), TypeError, r"antialias must be True or False, got 1 of type int"),
])
def test_bad_mode_and_flags(kwargs, error, message):
    with pytest.raises(error, match=message):
        resize_pos_embed(torch.zeros(1, 50, 8), 14, **kwargs)


def test_modes_constant_lists_what_is_accepted():
    assert MODES == ("nearest", "bilinear", "bicubic", "area")


# --- the lesson's figure -------------------------------------------------------------------


def test_numpy_bools_are_flags_too():
    import numpy as np

    pos_embed = torch.randn(1, 50, 8)
    expected = resize_pos_embed(pos_embed, 14, antialias=True, align_corners=False)
    torch.testing.assert_close(resize_pos_embed(pos_embed, 14, antialias=np.bool_(True),
                                                align_corners=np.bool_(False)), expected)


def test_a_huge_grid_is_refused_before_allocating():
    with pytest.raises(ValueError, match="more than the course's limit"):
        resize_pos_embed(torch.randn(1, 50, 8), 10 ** 5)
