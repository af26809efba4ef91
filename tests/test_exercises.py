"""The exercise checkers: right answers pass, each known mistake gets its own hint.

Every checker gets a correct solution (written the way a learner would, without the
package's reference function), the stub of a student notebook (NotImplementedError), and
deliberately wrong solutions; the test asserts the specific hint text appears.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial import exercises as ex
from vit_tutorial.patch_embedding import LinearPatchEmbedding

# --- correct solutions, as a learner would write them --------------------------------------


def patches_solution(images, patch_size):
    single = images.ndim == 3
    x = images.unsqueeze(0) if single else images  # (C, H, W) -> (1, C, H, W)
    B, C, H, W = x.shape
    P = patch_size
    x = x.reshape(B, C, H // P, P, W // P, P)  # (B, C, H/P, P, W/P, P)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, H/P, W/P, C, P, P)
    x = x.reshape(B, (H // P) * (W // P), C * P * P)  # (B, N, C·P·P)
    return x[0] if single else x


def linear_solution(conv_embedding):
    linear = LinearPatchEmbedding(conv_embedding.image_size, conv_embedding.patch_size,
                                  conv_embedding.in_channels, conv_embedding.embed_dim)
    D = conv_embedding.embed_dim
    with torch.no_grad():
        linear.proj.weight.copy_(conv_embedding.proj.weight.reshape(D, -1))
        linear.proj.bias.copy_(conv_embedding.proj.bias)
    return linear


def prepend_solution(tokens, cls_token):
    cls = cls_token.expand(tokens.shape[0], -1, -1)  # (1, 1, D) -> (B, 1, D)
    return torch.cat([cls, tokens], dim=1)


def shuffle_solution(tokens, perm):
    return torch.cat([tokens[:, :1], tokens[:, 1:][:, perm]], dim=1)


def invariance_solution(layer, tokens, perm):
    shuffled = shuffle_solution(tokens, perm)
    return torch.allclose(layer(shuffled)[:, 0], layer(tokens)[:, 0], atol=1e-5)


def equivariance_solution(layer, tokens, perm):
    """Another right answer: the whole output is shuffled the same way."""
    return torch.allclose(layer(shuffle_solution(tokens, perm)),
                          shuffle_solution(layer(tokens), perm), atol=1e-5)


def similarity_solution(pos_embed, grid_size):
    gh, gw = grid_size
    x = F.normalize(pos_embed[0, 1:], dim=-1)  # (N, D)
    return (x @ x.T).reshape(gh, gw, gh, gw)


def _steps(gh, gw, metric="steps", width=None):
    n = torch.arange(gh * gw)
    width = width or gw
    rows, cols = n // width, n % width
    dr = (rows[:, None] - rows[None]).abs()
    dc = (cols[:, None] - cols[None]).abs()
    return {"steps": dr + dc, "max": torch.maximum(dr, dc)}[metric]


def locality_with(near="4", far_metric="steps", far_op=torch.ge, sign=1, width=None):
    def fn(similarity):
        gh, gw = similarity.shape[:2]
        steps = _steps(gh, gw, width=width and gh)
        near_mask = {"4": steps == 1, "8": _steps(gh, gw, "max") == 1, "self": steps <= 1}[near]
        far_mask = far_op(_steps(gh, gw, far_metric, width=width and gh), 4)
        sim = similarity.reshape(gh * gw, gh * gw)
        return sign * (sim[near_mask].mean() - sim[far_mask].mean()).item()
    return fn


locality_solution = locality_with()


def resize_with(mode="bicubic", align_corners=False, fold_swapped=False, bad_fold=False,
                drop_cls=False):
    def fn(pos_embed, new_grid, old_grid):
        cls, grid = pos_embed[:, :1], pos_embed[:, 1:]
        D = pos_embed.shape[-1]
        old = old_grid[::-1] if fold_swapped else old_grid
        grid = grid.reshape(1, D, *old) if bad_fold else grid.transpose(1, 2).reshape(1, D, *old)
        grid = F.interpolate(grid, size=new_grid, mode=mode, align_corners=align_corners)
        grid = grid.flatten(2).transpose(1, 2)  # (1, N', D)
        return grid if drop_cls else torch.cat([cls, grid], dim=1)
    return fn


resize_solution = resize_with()


def block_solution(block, z):
    z = z + block.attn(block.norm1(z))  # Eq. 2
    return z + block.mlp(block.norm2(z))  # Eq. 3


ANSWERS = {
    "check_num_patches_answers": {"N_B16_224": 196, "tokens_B16_224": 197, "N_L32_384": 144,
                                  "tokens_L32_384": 145, "N_B16_224x320": 280,
                                  "values_per_patch_H14": 588},
    "check_patch_embedding_answers": {"E_shape_L32": (3072, 1024),
                                      "linear_weight_shape_L32": (1024, 3072),
                                      "conv_weight_shape_L32": (1024, 3, 32, 32),
                                      "E_params_B16": 590_592,
                                      "conv_output_shape_B16": (1, 768, 14, 14),
                                      "tokens_shape_B16": (1, 196, 768)},
    "check_class_token_answers": {"z0_shape_B16_batch8": (8, 197, 768), "cls_params_B16": 768,
                                  "cls_position": 0, "y_shape_batch8": (8, 768)},
    "check_pos_embed_answers": {"pos_embed_shape_B16": (197, 768),
                                "pos_embed_params_B16": 151_296,
                                "pos_embed_params_L32_384": 148_480,
                                "pos_embed_rows_no_cls_B16": 196},
    "check_similarity_answers": {"self_similarity": 1, "lowest_possible_similarity": -1,
                                 "sim_shape_L32_224": (7, 7, 7, 7), "tiles_L32_384": 144},
    "check_interpolation_answers": {"grid_B16_384": (24, 24), "tokens_B16_384": 577,
                                    "tokens_B16_384x512": 769, "unchanged_rows": 1},
    "check_vit_answers": {"head_dim_B16": 64, "params_B16": 86_567_656,
                          "params_L16": 304_326_632, "mlp_params_per_block_B16": 4_722_432,
                          "attention_shape_B16": (1, 12, 197, 197), "layers_H14": 32},
}

SOLUTIONS = {
    "check_image_to_patches": patches_solution,
    "check_linear_from_conv": linear_solution,
    "check_prepend_class_token": prepend_solution,
    "check_shuffle_patches": shuffle_solution,
    "check_permutation_invariance": invariance_solution,
    "check_position_similarity": similarity_solution,
    "check_locality_score": locality_solution,
    "check_resize_pos_embed": resize_solution,
    "check_encoder_block": block_solution,
    **ANSWERS,
}


def run(name, answer):
    return getattr(ex, name)(answer)


def not_implemented(*args):
    raise NotImplementedError()


# --- every checker ------------------------------------------------------------------------


def test_every_lesson_has_at_least_two_checkers():
    assert list(ex.CHECKERS) == ["01_patches", "02_patch_embeddings", "03_class_token",
                                 "04_positional_embeddings", "05_position_similarity",
                                 "06_interpolation", "07_vision_transformer"]
    names = [name for names in ex.CHECKERS.values() for name in names]
    assert all(len(names) >= 2 for names in ex.CHECKERS.values())
    assert sorted(names) == sorted(n for n in ex.__all__ if n.startswith("check_"))
    assert sorted(names) == sorted(SOLUTIONS)


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_a_correct_answer_gets_a_short_confirmation(name, capsys):
    result = run(name, SOLUTIONS[name])
    assert result and result.status == "passed", result.message
    assert result.message.startswith("✓ ")
    assert len(result.message.splitlines()) == 1
    assert capsys.readouterr().out == result.message + "\n"


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_the_student_stub_is_not_implemented_yet(name):
    result = run(name, not_implemented)
    assert not result and result.status == "not implemented"
    assert "not implemented yet — replace the `raise NotImplementedError`" in result.message
    assert "Traceback" not in result.message


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answers_may_come_from_a_function_and_the_stub_prints_the_keys(name):
    assert run(name, lambda: ANSWERS[name])
    message = run(name, not_implemented).message
    for key in ANSWERS[name]:
        assert f'"{key}": ...,' in message


def test_feedback_is_deterministic_and_leaves_the_random_numbers_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = ex.check_permutation_invariance(lambda layer, tokens, perm: True).message
    assert torch.equal(torch.rand(3), expected)
    assert ex.check_permutation_invariance(lambda layer, tokens, perm: True).message == first


def test_check_result_shows_nothing_in_jupyter():
    result = ex.check_shuffle_patches(shuffle_solution)
    assert hasattr(result, "_ipython_display_") and result._ipython_display_() is None
    assert repr(result) == "CheckResult(exercise='shuffle_patches', status='passed')"


def test_an_exception_is_one_line_with_a_hint_and_no_address():
    def buggy(images, patch_size):
        raise ValueError(f"bad thing at {object()!r}")

    message = ex.check_image_to_patches(buggy).message
    assert "your function raised ValueError: bad thing at <object object at 0x…>" in message
    assert "hint: " in message and "Traceback" not in message
    assert len(message.splitlines()) == 2


def test_passing_the_result_instead_of_the_function_is_explained():
    assert "pass the function itself" in ex.check_image_to_patches(torch.zeros(3)).message


# --- deliberately wrong implementations -----------------------------------------------------


def patches_with(order=(0, 2, 4, 1, 3, 5), handle_single=True, same_side=False,
                 permute=True):
    def fn(images, P):
        single = images.ndim == 3
        x = images.unsqueeze(0) if single and handle_single else images
        B, C, H, W = x.shape
        if not permute:
            return x.reshape(B, -1, C * P * P)
        gw = (H if same_side else W) // P
        x = x.reshape(B, C, H // P, P, gw, P).permute(*order).reshape(B, -1, C * P * P)
        return x[0] if single and handle_single else x
    return fn


def linear_with(weight=lambda w: w.reshape(w.shape[0], -1), copy_bias=True, no_grad=True):
    def fn(conv_embedding):
        linear = LinearPatchEmbedding(conv_embedding.image_size, conv_embedding.patch_size,
                                      conv_embedding.in_channels, conv_embedding.embed_dim)
        new = weight(conv_embedding.proj.weight)
        if new.shape != linear.proj.weight.shape:  # the learner replaced the parameter
            linear.proj.weight = nn.Parameter(new.detach().clone())
        elif no_grad:
            with torch.no_grad():
                linear.proj.weight.copy_(new)
        else:
            linear.proj.weight.copy_(new)
        if copy_bias:
            with torch.no_grad():
                linear.proj.bias.copy_(conv_embedding.proj.bias)
        return linear
    return fn


def post_ln(block, z):
    z = block.norm1(z + block.attn(z))
    return block.norm2(z + block.mlp(z))


def no_attention_residual(block, z):
    z = block.attn(block.norm1(z))
    return z + block.mlp(block.norm2(z))


def shuffled_outputs_compared_to_unshuffled(layer, tokens, perm):
    return torch.allclose(layer(shuffle_solution(tokens, perm)), layer(tokens), atol=1e-5)


def fold_the_whole_table(pos_embed, new_grid, old_grid):
    """The class token's row folded into the grid with the patches: a reshape error."""
    grid = pos_embed.transpose(1, 2).reshape(1, pos_embed.shape[-1], *old_grid)
    return F.interpolate(grid, size=new_grid, mode="bicubic").flatten(2).transpose(1, 2)


def grid_from_the_first_rows(pos_embed, new_grid, old_grid):
    """Rows 0 … N-1 taken as the grid: the class token is interpolated as a patch."""
    return resize_solution(torch.cat([pos_embed[:, :1], pos_embed[:, :-1]], dim=1), new_grid,
                           old_grid)


def with_answers(name, **changes):
    return {**ANSWERS[name], **changes}


WRONG = [  # (checker, wrong answer, text the feedback must contain)
    # 01
    ("check_image_to_patches", patches_with(order=(0, 2, 4, 3, 5, 1)),
     "your patch vectors are ordered (P, P, C), channels last; this course uses (C, P, P)"),
    ("check_image_to_patches", patches_with(order=(0, 4, 2, 1, 3, 5)),
     "numbered column by column (a transposed patch grid)"),
    ("check_image_to_patches", patches_with(permute=False), "a reshape alone doesn't cut patches"),
    ("check_image_to_patches", patches_with(order=(0, 1, 2, 4, 3, 5)),
     "the channel axis is still in front of the grid"),
    ("check_image_to_patches", patches_with(handle_single=False),
     "for a single image (C, H, W) add a batch axis with images.unsqueeze(0)"),
    ("check_image_to_patches", patches_with(same_side=True),
     "not one side twice"),
    ("check_image_to_patches", lambda images, P: patches_solution(images, P).tolist(),
     "your function returned a list; return a torch.Tensor of shape (2, 4, 48)"),
    ("check_num_patches_answers", with_answers("check_num_patches_answers", tokens_L32_384=144),
     "tokens_L32_384: 144 is not right — that is N; the sequence the Transformer reads also "
     "holds the class token"),
    ("check_num_patches_answers", with_answers("check_num_patches_answers", N_L32_384=4608),
     "divide by P twice"),
    ("check_num_patches_answers",  # a typo in a key: that answer is missing
     {**{k: v for k, v in ANSWERS["check_num_patches_answers"].items() if k != "N_B16_224"},
      "n_b16_244": 196},
     "unknown key 'n_b16_244' — did you mean 'N_B16_224'?"),
    ("check_num_patches_answers", with_answers("check_num_patches_answers", N_B16_224="196"),
     "N_B16_224: expected a number, got a str"),
    # 02
    ("check_linear_from_conv", linear_with(weight=lambda w: w.reshape(w.shape[0], -1).T),
     "the weight is transposed"),
    ("check_linear_from_conv",
     linear_with(weight=lambda w: w.permute(0, 2, 3, 1).reshape(w.shape[0], -1)),
     "flattened in (P, P, C) order"),
    ("check_linear_from_conv", linear_with(weight=lambda w: w.reshape(-1, w.shape[0]).T),
     "reshape(-1, D).T keeps the right shape but mixes the filters"),
    ("check_linear_from_conv", linear_with(copy_bias=False), "the bias was not copied"),
    ("check_linear_from_conv", linear_with(no_grad=False), "`with torch.no_grad():`"),
    ("check_patch_embedding_answers",
     with_answers("check_patch_embedding_answers", E_params_B16=589_824),
     "that is the weight alone; the projection has a bias too"),
    ("check_patch_embedding_answers",
     with_answers("check_patch_embedding_answers", E_shape_L32=(1024, 3072)),
     "that is nn.Linear's weight, which stores E transposed"),
    ("check_patch_embedding_answers",
     with_answers("check_patch_embedding_answers", conv_output_shape_B16=(1, 768, 196)),
     "that is after flatten(2)"),
    # 03
    ("check_prepend_class_token",
     lambda tokens, cls: torch.cat([tokens, cls.expand(tokens.shape[0], -1, -1)], dim=1),
     "the class token was appended; it is prepended"),
    ("check_prepend_class_token", lambda tokens, cls: torch.cat([cls, tokens], dim=1),
     "must be expanded to (B, 1, D) — cls_token.expand(B, -1, -1)"),
    ("check_prepend_class_token", lambda tokens, cls: prepend_solution(tokens, cls.detach()),
     "no gradient reaches cls_token"),
    ("check_prepend_class_token",
     lambda tokens, cls: torch.cat([cls.expand(tokens.shape[0], -1, -1), tokens[:, 1:]], 1),
     "the class token overwrote the first patch"),
    ("check_class_token_answers",
     with_answers("check_class_token_answers", z0_shape_B16_batch8=(8, 196, 768)),
     "the class token is missing"),
    ("check_class_token_answers", with_answers("check_class_token_answers", cls_params_B16=6144),
     "one class token is shared by every image"),
    ("check_class_token_answers", with_answers("check_class_token_answers", cls_position=-1),
     "prepended, not appended"),
    # 04
    ("check_shuffle_patches", lambda tokens, perm: tokens[:, perm],
     "you indexed the whole sequence with perm"),
    ("check_shuffle_patches", lambda tokens, perm: shuffle_solution(tokens, perm.argsort()),
     "you applied the inverse permutation"),
    ("check_shuffle_patches",
     lambda tokens, perm: torch.cat([tokens[:, :1], tokens[:, perm]], dim=1), "off by one"),
    ("check_permutation_invariance", lambda layer, tokens, perm: True,
     "said True for position embeddings followed by the same encoder block"),
    ("check_permutation_invariance", shuffled_outputs_compared_to_unshuffled,
     "said False for an encoder block without position embeddings"),
    ("check_permutation_invariance", lambda layer, tokens, perm: 1.0, "return True or False"),
    ("check_pos_embed_answers", with_answers("check_pos_embed_answers",
                                             pos_embed_params_B16=150_528),
     "E_pos has a row for the class token too"),
    ("check_pos_embed_answers", with_answers("check_pos_embed_answers",
                                             pos_embed_shape_B16=(196, 768)),
     "E_pos has a row for the class token too"),
    # 05
    ("check_position_similarity",
     lambda pos, grid: (pos[0, 1:] @ pos[0, 1:].T).reshape(*grid, *grid),
     "these are dot products, not cosine similarities"),
    ("check_position_similarity",  # the class token taken to be the last row
     lambda pos, grid: similarity_solution(torch.cat([pos[:, -1:], pos[:, :-1]], 1), grid),
     "you dropped the last patch's row instead of the class token's"),
    ("check_position_similarity",
     lambda pos, grid: similarity_solution(pos, grid[::-1]),
     "rows and columns swapped: the grid is (H/P, W/P) = (3, 4)"),
    ("check_position_similarity",
     lambda pos, grid: (F.normalize(pos[0], dim=-1) @ F.normalize(pos[0], dim=-1).T)
     .reshape(*grid, *grid),
     "(N + 1)² values: the class token's row is still in"),
    ("check_locality_score", locality_with(near="8"), "you counted 8 neighbours"),
    ("check_locality_score", locality_with(near="self"),
     "with itself (always 1) among the neighbours"),
    ("check_locality_score", locality_with(far_metric="max"), "max(|Δrow|, |Δcol|)"),
    ("check_locality_score", locality_with(far_op=torch.gt), "not more than 4"),
    ("check_locality_score", locality_with(sign=-1), "the sign is flipped"),
    ("check_locality_score", locality_with(width=True), "the wrong grid width"),
    ("check_similarity_answers",
     with_answers("check_similarity_answers", lowest_possible_similarity=0),
     "two opposite vectors"),
    ("check_similarity_answers",
     with_answers("check_similarity_answers", sim_shape_L32_224=(49, 49)),
     "that is the (N, N) matrix"),
    # 06
    ("check_resize_pos_embed", fold_the_whole_table,
     "the class token's row is still in the table you fold; keep the class token out of the "
     "interpolation"),
    ("check_resize_pos_embed", grid_from_the_first_rows,
     "your grid starts at row 0, the class token's"),
    ("check_resize_pos_embed",  # a fresh class-token row instead of the trained one
     lambda pos, new, old: torch.cat([torch.zeros_like(pos[:, :1]),
                                      resize_solution(pos, new, old)[:, 1:]], dim=1),
     "the class token's row changed: keep the class token out of the interpolation"),
    ("check_resize_pos_embed", resize_with(drop_cls=True), "the class token's row is missing"),
    ("check_resize_pos_embed", resize_with(fold_swapped=True),
     "the old grid was folded as (W/P, H/P): rows and columns swapped"),
    ("check_resize_pos_embed", resize_with(bad_fold=True), "transpose to (1, D, N) first"),
    ("check_resize_pos_embed", resize_with(align_corners=True),
     "bicubic, align_corners=True (torchvision's setting)"),
    ("check_resize_pos_embed", resize_with(mode="bilinear"), "you resized with bilinear"),
    ("check_interpolation_answers",
     with_answers("check_interpolation_answers", tokens_B16_384=576),
     "the class token's row stays in the sequence"),
    ("check_interpolation_answers", with_answers("check_interpolation_answers", unchanged_rows=0),
     "the class token has no place on the grid"),
    # 07
    ("check_encoder_block", post_ln, "this is post-LN"),
    ("check_encoder_block", no_attention_residual,
     "the residual connection around MSA is missing"),
    ("check_encoder_block", lambda block, z: block(z), "your function called the whole block"),
    ("check_encoder_block",
     lambda block, z: z + block.attn(block.norm1(z)) + block.mlp(block.norm2(z)),
     "computed side by side"),
    ("check_vit_answers", with_answers("check_vit_answers", params_B16=86_000_000),
     "Table 1 rounds"),
    ("check_vit_answers", with_answers("check_vit_answers", params_L16=307_000_000),
     "the count depends on P"),
    ("check_vit_answers", with_answers("check_vit_answers", head_dim_B16=768), "that is D"),
]


@pytest.mark.parametrize("name, answer, hint", WRONG,
                         ids=[f"{name[6:]}-{i}" for i, (name, _, _) in enumerate(WRONG)])
def test_a_wrong_answer_gets_its_specific_hint(name, answer, hint):
    result = run(name, answer)
    assert not result and result.status == "failed"
    assert result.message.startswith("✗ ")
    assert hint in result.message, result.message
    assert "Traceback" not in result.message


def test_every_checker_is_fed_wrong_answers():
    fed = {name for name, _, _ in WRONG}
    assert fed == set(SOLUTIONS)


def test_other_right_answers_are_accepted():
    assert ex.check_permutation_invariance(equivariance_solution)
    pos = with_answers("check_pos_embed_answers", pos_embed_shape_B16=(1, 197, 768))
    result = ex.check_pos_embed_answers(pos)
    assert result and "stores it as (1, N + 1, D)" in result.message
    assert ex.check_num_patches_answers(with_answers("check_num_patches_answers",
                                                     N_B16_224=196.0, tokens_B16_224=
                                                     torch.tensor(197)))
    assert ex.check_linear_from_conv(lambda conv: linear_solution(conv).proj)  # an nn.Linear
