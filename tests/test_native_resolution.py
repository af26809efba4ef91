"""Lesson 11 (``vit_tutorial.native_resolution``): patches with coordinates, the token budget,
per-image E_pos, padding and packing — each against timm 1.0.31's NaFlex code — and the
course's ViT reading a NaFlex batch with timm's logits."""

import random
from dataclasses import replace

import pytest
import torch
from timm.data.naflex_dataset import NaFlexCollator
from timm.data.naflex_transforms import Patchify, ResizeToSequence, get_image_size_for_seq
from timm.models.naflexvit import (
    NaFlexEmbeds,
    NaFlexVit,
    NaFlexVitCfg,
    batch_patchify,
    create_attention_mask,
    global_pool_naflex,
)

from vit_tutorial.encoder import Encoder
from vit_tutorial.model import VisionTransformer, ViTConfig
from vit_tutorial.native_resolution import (
    FactorizedPositionalEmbedding,
    attention_mask,
    check_naflex_batch,
    fit_to_budget,
    naflex_batch,
    naflex_grid_sizes,
    pack_lengths,
    pack_sequences,
    packed_attention_mask,
    padding_share,
    patchify,
    pool_packed,
    pool_tokens,
    pos_embed_for_grid,
    pos_embed_per_token,
    resize_to_budget,
)
from vit_tutorial.weights import from_timm

SMALL = ViTConfig(image_size=28, patch_size=4, in_channels=1, num_classes=10, embed_dim=32,
                  depth=2, num_heads=4, mlp_dim=64, prefix_pos_embed=False)
SHAPES = [(20, 36), (28, 28), (36, 20), (12, 8), (16, 40)]  # grids 5×9, 7×7, 9×5, 3×2, 4×10


def images(shapes=SHAPES, channels=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(channels, h, w, generator=generator) for h, w in shapes]


# --- part 1: any shape into a sequence ----------------------------------------------------

@pytest.mark.parametrize("shape, patch", [((2, 3, 8, 12), 4), ((1, 1, 6, 10), (3, 5)),
                                          ((3, 2, 16, 4), 4)])
def test_patchify_is_timms_batch_patchify_plus_coordinates(shape, patch):
    x = torch.rand(shape)
    patches, coord = patchify(x, patch)
    pair = patch if isinstance(patch, tuple) else (patch, patch)
    theirs, grid = batch_patchify(x, pair, channels_last=False)
    torch.testing.assert_close(patches, theirs, rtol=0, atol=0)
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing="ij")
    expected = torch.stack([rows.flatten(), cols.flatten()], dim=-1)  # (N, 2), row-major
    assert coord.shape == (shape[0], grid[0] * grid[1], 2) and coord.dtype == torch.int64
    assert torch.equal(coord[1 if shape[0] > 1 else 0], expected)
    one_patches, one_coord = patchify(x[0], patch)  # one image: no batch axis
    assert torch.equal(one_patches, patches[0]) and torch.equal(one_coord, expected)


def test_patchify_coordinates_are_timms_single_image_ones():
    image = torch.rand(3, 12, 20)
    out = Patchify(4, channels_last=False)(image)
    patches, coord = patchify(image, 4)
    assert torch.equal(patches, out["patches"]) and torch.equal(coord, out["patch_coord"])


def test_fit_to_budget_is_timms_rule_on_many_shapes():
    rng = random.Random(0)
    cases = [((600, 512), 16, 256), ((1093, 820), 4, 16), ((1, 1), 16, 256), ((5, 500), 16, 256),
             ((28, 28), 4, 49), ((14, 28), 4, 49), ((40, 20), 4, 49)]
    cases += [((rng.randint(1, 3000), rng.randint(1, 3000)),
               rng.choice([4, 14, 16, (8, 16)]), rng.choice([1, 7, 49, 64, 256, 729, 1024]))
              for _ in range(400)]
    for size, patch, budget in cases:
        assert fit_to_budget(size, patch, budget) == get_image_size_for_seq(size, patch,
                                                                             budget)[1], size
    assert fit_to_budget((600, 512), 16, 256) == (272, 240)  # 17 × 15 = 255 tokens
    assert fit_to_budget((14, 28), 4, 49) == (20, 36)  # 5 × 9 = 45 tokens: 5 × 10 won't fit
    assert fit_to_budget((1093, 820), 4, 16) == (16, 12)  # bisection misses a narrow 4 × 4


def test_resize_to_budget_is_timms_resize_to_sequence():
    image = torch.rand(3, 61, 27)
    ours = resize_to_budget(image, 16, 16)
    assert ours.shape == (3, 80, 48)  # 5 × 3 = 15 patches; 6 × 3 = 18 would be too many
    torch.testing.assert_close(ours, ResizeToSequence(16, 16)(image))


def test_naflex_batch_is_timms_patchify_and_collator():
    shots = images(channels=3)
    ours = naflex_batch(shots, 4, max_len=64)
    pieces = [(Patchify(4, channels_last=False)(image), 0) for image in shots]
    theirs, _ = NaFlexCollator(64)(pieces)
    for key in ("patches", "patch_coord", "patch_valid"):
        assert torch.equal(ours[key], theirs[key]), key
    assert naflex_batch(shots, 4)["patches"].shape == (5, 49, 48)  # padded to the longest
    assert naflex_grid_sizes(ours["patch_coord"], ours["patch_valid"]) == [
        (5, 9), (7, 7), (9, 5), (3, 2), (4, 10)]


# --- part 2: E_pos per image -------------------------------------------------------------

def naflex_embeds(kind, grid=(3, 4), D=8):
    embeds = NaFlexEmbeds(patch_size=4, in_chans=1, embed_dim=D, proj_type="linear",
                          class_token=False, pos_embed=kind, pos_embed_grid_size=grid,
                          channels_last=False)
    with torch.no_grad():  # the projection gives 0: what comes out is E_pos alone
        embeds.proj.weight.zero_()
        embeds.proj.bias.zero_()
        for p in (embeds.pos_embed, embeds.pos_embed_y, embeds.pos_embed_x):
            if p is not None:
                p.normal_()
    return embeds.eval()


def test_learned_pos_embed_per_image_is_timms():
    embeds = naflex_embeds("learned")
    batch = naflex_batch(images([(12, 16), (20, 8), (28, 40), (4, 4)]), 4)
    with torch.no_grad():
        theirs, _ = embeds(batch["patches"], batch["patch_coord"], batch["patch_valid"])
        table = embeds.pos_embed.reshape(1, 12, 8)  # (1, h, w, D) -> (1, N, D)
        ours = pos_embed_per_token(lambda g: pos_embed_for_grid(table, g, (3, 4)),
                                   batch["patch_coord"], batch["patch_valid"])
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert pos_embed_for_grid(table, (3, 4), (3, 4)) is table  # the base grid: untouched


def test_factorized_pos_embed_per_image_is_timms():
    embeds = naflex_embeds("factorized")
    factorized = FactorizedPositionalEmbedding((3, 4), 8)
    factorized.load_state_dict({"pos_embed_y": embeds.pos_embed_y,
                                "pos_embed_x": embeds.pos_embed_x})
    batch = naflex_batch(images([(12, 16), (20, 8), (28, 40), (4, 4)]), 4)
    with torch.no_grad():
        theirs, _ = embeds(batch["patches"], batch["patch_coord"], batch["patch_valid"])
        ours = pos_embed_per_token(factorized.table, batch["patch_coord"], batch["patch_valid"])
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    base = factorized.table((3, 4)).reshape(3, 4, 8)
    assert torch.equal(base[2, 1], factorized.pos_embed_y[0, 2] + factorized.pos_embed_x[0, 1])


def test_per_token_pos_embed_follows_the_coordinates_not_the_order():
    table = torch.randn(1, 12, 8)
    batch = naflex_batch(images([(8, 16), (12, 12)]), 4, max_len=12)
    order = torch.randperm(12)
    shuffled = {"patch_coord": batch["patch_coord"][:, order],
                "patch_valid": batch["patch_valid"][:, order]}
    fn = lambda g: pos_embed_for_grid(table, g, (3, 4))  # noqa: E731
    straight = pos_embed_per_token(fn, batch["patch_coord"], batch["patch_valid"])
    moved = pos_embed_per_token(fn, shuffled["patch_coord"], shuffled["patch_valid"])
    torch.testing.assert_close(moved, straight[:, order])
    assert torch.equal(straight[0, 8:], torch.zeros(4, 8))  # 2 × 4 patches, then padding


# --- part 3: padding and packing ----------------------------------------------------------

@pytest.mark.parametrize("prefix", [0, 1, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
def test_attention_mask_is_timms(prefix, dtype):
    valid = naflex_batch(images(), 4)["patch_valid"]
    ours = attention_mask(valid, prefix, dtype)
    assert torch.equal(ours, create_attention_mask(valid, prefix, dtype=dtype))
    assert ours.shape == (5, 1, prefix + 49, prefix + 49)


@pytest.mark.parametrize("pool", ["token", "avg"])
def test_pooling_is_timms(pool):
    valid = naflex_batch(images(), 4)["patch_valid"]
    z = torch.randn(5, 1 + 49, 8)
    torch.testing.assert_close(pool_tokens(z, valid, pool),
                               global_pool_naflex(z, valid, pool, num_prefix_tokens=1))


def test_packing_first_fit_and_padding_shares():
    assert pack_lengths([46, 50, 10, 30, 4], 50) == [[0, 4], [1], [2, 3]]
    sequences = [torch.full((n, 2), float(i)) for i, n in enumerate([3, 4, 2])]
    packed, segments = pack_sequences(sequences, 5)
    assert segments.tolist() == [[0, 0, 0, 2, 2], [1, 1, 1, 1, -1]]
    assert packed[:, :, 0].tolist() == [[0, 0, 0, 2, 2], [1, 1, 1, 1, 0]]
    mask = packed_attention_mask(segments)
    assert (mask[0, 0] == 0).tolist()[0] == [True, True, True, False, False]
    assert (mask[1, 0, 4] < 0).all()  # the padding slot attends to nothing
    z = torch.arange(10.0).reshape(2, 5, 1)
    assert pool_packed(z, segments).flatten().tolist() == [0.0, 5.0, 3.0]  # images in order
    assert padding_share([30, 50], 50) == pytest.approx(0.2)
    assert padding_share([30, 20], 50, packed=True) == 0.0


def shapes_model(kind="learned", seed=0):
    torch.manual_seed(seed)
    return VisionTransformer(replace(SMALL, positional_embedding=kind)).eval()


@pytest.mark.parametrize("kind", ["learned", "factorized", "sincos", "none"])
def test_an_image_gives_the_same_logits_alone_padded_and_packed(kind):
    model, shots = shapes_model(kind), images()
    with torch.no_grad():
        alone = torch.cat([model(naflex_batch([image], 4)) for image in shots])
        padded = model(naflex_batch(shots, 4, max_len=64))
        sequences = [model.embed(naflex_batch([image], 4))[0] for image in shots]  # (1 + n_i, D)
        packed, segments = pack_sequences(sequences, 100)
        z = model.encoder(packed, mask=packed_attention_mask(segments))  # (S, 100, D)
        from_packs = model.head(model.norm(pool_packed(z, segments)))
    assert packed.shape[0] < len(shots)  # several images share a row
    torch.testing.assert_close(padded, alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(from_packs, alone, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["learned", "factorized"])
def test_a_naflex_batch_of_square_images_is_the_image_path(kind):
    model = shapes_model(kind)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(model(naflex_batch(list(x), 4)), model(x), rtol=0, atol=1e-5)


def random_naflex_vit(kind, in_chans=1, **changes):
    cfg = NaFlexVitCfg(patch_size=4, embed_dim=32, depth=2, num_heads=4, mlp_ratio=2,
                       class_token=True, global_pool="token", pos_embed=kind,
                       pos_embed_grid_size=(7, 7), patchify_channels_last=False)
    model = NaFlexVit(replace(cfg, **changes), in_chans=in_chans, num_classes=10).eval()
    with torch.no_grad():
        for p in model.parameters():  # every weight random, the head's too
            p.normal_(0, 0.5)
    return model


@pytest.mark.parametrize("kind", ["learned", "factorized", "none"])
def test_from_timm_naflex_gives_timms_logits_on_a_padded_batch(kind):
    theirs = random_naflex_vit(kind)
    ours = from_timm(theirs).eval()
    assert ours.config.positional_embedding == kind and ours.config.image_size == 28
    batch = naflex_batch(images(), 4, max_len=64)
    with torch.no_grad():
        assert (ours(batch) - theirs(batch)).abs().max() < 1e-4
        x = torch.rand(2, 1, 28, 28)  # and images of the base size
        assert (ours(x) - theirs(x)).abs().max() < 1e-4


def test_from_timm_naflex_keeps_the_channels_of_rgb_patches_apart():
    theirs = random_naflex_vit("learned", in_chans=3)
    ours = from_timm(theirs).eval()
    batch = naflex_batch(images(channels=3), 4)
    with torch.no_grad():
        assert (ours(batch) - theirs(batch)).abs().max() < 1e-4


def test_from_timm_naflex_with_registers():
    theirs = random_naflex_vit("learned", reg_tokens=2)
    ours = from_timm(theirs).eval()
    batch = naflex_batch(images(), 4)
    with torch.no_grad():
        assert (ours(batch) - theirs(batch)).abs().max() < 1e-4


@pytest.mark.parametrize("changes, variant", [
    (dict(patchify_channels_last=True), "channels last"),
    (dict(global_pool="avg"), "pooling 'avg'"),
    (dict(embed_proj_type="conv"), "Conv2d patch embedding"),
    (dict(pos_embed_ar_preserving=True), "E_pos resized other than timm's default"),
    (dict(qk_norm=True), "qk-norm"),
])
def test_from_timm_naflex_refuses_what_the_course_does_not_implement(changes, variant):
    with pytest.raises(ValueError, match=f"unsupported timm.*{variant}"):
        from_timm(random_naflex_vit("learned", **changes))


# --- bad input ------------------------------------------------------------------------------

def test_bad_inputs_get_clear_errors():
    good = naflex_batch(images(), 4)
    with pytest.raises(TypeError, match="non-empty list"):
        naflex_batch([], 4)
    with pytest.raises(ValueError, match=r"images\[1\] has 49 patches, more than max_len=30"):
        naflex_batch(images(), 4, max_len=30)
    with pytest.raises(ValueError, match="same channels and dtype"):
        naflex_batch([torch.rand(1, 8, 8), torch.rand(3, 8, 8)], 4)
    with pytest.raises(ValueError, match="not divisible by patch_size 4"):
        patchify(torch.rand(1, 10, 8), 4)
    with pytest.raises(TypeError, match="a NaFlex batch is a dict"):
        check_naflex_batch(good["patches"])
    with pytest.raises(ValueError, match=r"missing \['patch_valid'\], unknown \['mask'\]"):
        check_naflex_batch({"patches": 0, "patch_coord": 0, "mask": 0})
    with pytest.raises(ValueError, match="each patch must hold C·P·P = 48 values, got 16"):
        check_naflex_batch(good, 48)
    with pytest.raises(TypeError, match="patch_valid booleans"):
        check_naflex_batch({**good, "patch_valid": good["patch_valid"].long()})
    with pytest.raises(ValueError, match="patch_valid must be a"):
        attention_mask(good["patch_valid"].float())
    with pytest.raises(ValueError, match="doesn't fit max_len=5"):
        pack_lengths([3, 6], 5)
    with pytest.raises(ValueError, match="segments must be a"):
        packed_attention_mask(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="pool must be one of 'token', 'avg'"):
        pool_tokens(torch.zeros(5, 50, 8), good["patch_valid"], "max")
    with pytest.raises(ValueError, match="grid sizes are read from the values"):
        naflex_grid_sizes(good["patch_coord"].to("meta"), good["patch_valid"].to("meta"))


def test_the_model_and_encoder_say_what_is_wrong_with_a_batch_or_mask():
    model = shapes_model()
    good = naflex_batch(images(), 4)
    with pytest.raises(ValueError, match="each patch must hold C·P·P = 16 values, got 48"):
        model(naflex_batch(images(channels=3), 4))
    with pytest.raises(TypeError, match="weights are torch.float32 but the patches are "
                                        "torch.float64"):
        model({**good, "patches": good["patches"].double()})
    with pytest.raises(ValueError, match="masked patch prediction reads images"):
        model.embed(good, mask=torch.zeros(5, 49, dtype=torch.bool))
    with pytest.raises(ValueError, match="pass prefix_pos_embed=False"):
        ViTConfig(positional_embedding="factorized")
    encoder = Encoder(1, 8, 2, 16)
    z = torch.rand(2, 5, 8)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 1, 5, 5\)"):
        encoder(z, mask=torch.ones(2, 1, 4, 4, dtype=torch.bool))
    with pytest.raises(TypeError, match="an additive mask must have the tokens' dtype"):
        encoder(z, mask=torch.zeros(2, 1, 5, 5, dtype=torch.float64))


def test_a_boolean_mask_is_the_additive_one_and_padding_rows_stay_finite():
    encoder = Encoder(2, 8, 2, 16).eval()
    z = torch.rand(2, 5, 8)
    valid = torch.tensor([[True, True, False, False], [True, True, True, True]])
    additive = attention_mask(valid, 1)
    allowed = additive == 0
    with torch.no_grad():
        out, maps = encoder(z, return_attention=True, mask=allowed)
        torch.testing.assert_close(out, encoder(z, mask=additive))
    assert torch.isfinite(out).all() and torch.isfinite(maps[0]).all()
    assert (maps[0][0, :, :3, 3:] == 0).all()  # real tokens give padding no weight
