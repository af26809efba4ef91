r"""Batching sequences of different lengths (lesson 11, part 3): pad them and mask the padding
(SigLIP 2's NaFlex, timm), or pack several images into one sequence and mask everything but
each image's own block (NaViT's "Patch n' Pack").

Masks here are *additive*, as timm's ``create_attention_mask`` makes them: 0 where query
$i$ may attend to key $j$, ``torch.finfo(dtype).min`` where not, shape ``(B, 1, T, T)``
(one mask for every head). The most negative *finite* number, not $-\infty$: a padding
token may attend to nothing, and a softmax over a row of $-\infty$ is 0/0 = NaN.
"""

from __future__ import annotations

import torch

from vit_tutorial.checks import check_num_prefix_tokens, check_positive_int, check_tensor

__all__ = ["attention_mask", "pool_tokens", "pack_lengths", "pack_sequences",
           "packed_attention_mask", "pool_packed", "padding_share"]

POOLS = ("token", "avg")


def _check_valid(patch_valid: object) -> torch.Tensor:
    check_tensor(patch_valid, "patch_valid")
    if patch_valid.ndim != 2 or patch_valid.dtype != torch.bool:
        raise ValueError(f"patch_valid must be a (B, L) bool tensor, True for a real patch, "
                         f"got {tuple(patch_valid.shape)} {patch_valid.dtype}")
    return patch_valid


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Booleans (True = may attend) -> 0 / the most negative finite number of ``dtype``."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype (the tokens'), got "
                        f"{dtype!r}")
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def attention_mask(patch_valid: torch.Tensor, num_prefix_tokens: int = 1,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""The attention mask of a padded batch: token $i$ may attend to token $j$ when both are
    real (prefix tokens always are) — timm's ``create_attention_mask(patch_valid,
    num_prefix_tokens)``.

    Args:
        patch_valid: ``(B, N)`` bool, True for a real patch.
        num_prefix_tokens: the class token (and registers) in front, always valid.
        dtype: the tokens' dtype.

    Shapes:
        ``(B, N)`` -> ``(B, 1, T, T)`` with ``T = prefix + N``
    """
    valid = _check_valid(patch_valid)
    k = check_num_prefix_tokens(num_prefix_tokens)
    prefix = valid.new_ones(valid.shape[0], k)  # (B, k): the class token is always there
    valid = torch.cat([prefix, valid], dim=1)  # (B, T)
    allowed = valid[:, :, None] & valid[:, None, :]  # (B, T, 1) & (B, 1, T) -> (B, T, T)
    return _additive(allowed[:, None], dtype)  # (B, 1, T, T)


def pool_tokens(z: torch.Tensor, patch_valid: torch.Tensor, pool: str = "token",
                num_prefix_tokens: int = 1) -> torch.Tensor:
    r"""One vector per image from a padded batch's encoder output — timm's
    ``global_pool_naflex``: ``"token"`` takes the class token (padding can't change it);
    ``"avg"`` averages the real patch tokens only.

    Shapes:
        z ``(B, prefix + N, D)``, patch_valid ``(B, N)`` -> ``(B, D)``
    """
    check_tensor(z, "z")
    valid = _check_valid(patch_valid)
    k = check_num_prefix_tokens(num_prefix_tokens)
    if z.ndim != 3 or z.shape[1] != k + valid.shape[1]:
        raise ValueError(f"z must be (B, {k} + N, D) with N = {valid.shape[1]} as in "
                         f"patch_valid, got {tuple(z.shape)}")
    if pool == "token":
        if k == 0:
            raise ValueError("pool='token' reads the class token, but num_prefix_tokens=0")
        return z[:, 0]  # (B, D)
    if pool != "avg":
        raise ValueError(f"pool must be one of {', '.join(map(repr, POOLS))}, got {pool!r}")
    weights = valid.to(z.dtype)[..., None]  # (B, N, 1): 1 for a real patch, 0 for padding
    total = (z[:, k:] * weights).sum(dim=1)  # (B, D)
    return total / weights.sum(dim=1).clamp(min=1)  # (B, D) / (B, 1)


def pack_lengths(lengths, max_len: int) -> list[list[int]]:
    """Which sequences go into which pack: first fit, in the given order (NaViT packs
    greedily). Returns the indices in each pack, e.g. ``[[0, 2], [1]]``."""
    L = check_positive_int(max_len, "max_len")
    lengths = [check_positive_int(n, f"lengths[{i}]") for i, n in enumerate(lengths)]
    if lengths and max(lengths) > L:
        raise ValueError(f"a sequence of {max(lengths)} tokens doesn't fit max_len={L}; "
                         f"raise max_len, or give that image fewer tokens")
    packs: list[list[int]] = []
    room: list[int] = []
    for i, n in enumerate(lengths):
        where = next((j for j, r in enumerate(room) if r >= n), None)
        if where is None:
            packs.append([])
            room.append(L)
            where = len(packs) - 1
        packs[where].append(i)
        room[where] -= n
    return packs


def pack_sequences(sequences, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pack token sequences of different lengths (e.g. ``[x_class; patches]`` of several
    images) into as few rows of ``max_len`` tokens as first fit allows.

    Returns:
        ``(packed, segments)``: the packed tokens, and for each slot the index of the
        sequence it holds (-1 for padding at the end of a row).

    Shapes:
        sequences ``[(n_i, D)]`` -> ``(S, L, D)``, ``(S, L)`` int64
    """
    sequences = list(sequences)
    for i, seq in enumerate(sequences):
        check_tensor(seq, f"sequences[{i}]")
        if seq.ndim != 2 or seq.shape[-1] != sequences[0].shape[-1]:
            raise ValueError(f"each sequence must be (n_i, D) with one D, got "
                             f"sequences[{i}] of shape {tuple(seq.shape)}")
    if not sequences:
        raise ValueError("pack at least one sequence")
    packs = pack_lengths([len(s) for s in sequences], max_len)
    first = sequences[0]
    packed = first.new_zeros(len(packs), max_len, first.shape[-1])  # (S, L, D)
    segments = torch.full((len(packs), max_len), -1, dtype=torch.int64, device=first.device)
    for row, members in enumerate(packs):
        start = 0
        for i in members:
            n = len(sequences[i])
            packed[row, start:start + n] = sequences[i]  # image i's block
            segments[row, start:start + n] = i
            start += n
    return packed, segments


def packed_attention_mask(segments: torch.Tensor, dtype: torch.dtype = torch.float32
                          ) -> torch.Tensor:
    r"""The block-diagonal mask of packed sequences: token $i$ may attend to token $j$ when
    both belong to the same image (padding, segment -1, to nothing).

    Shapes:
        segments ``(S, L)`` -> ``(S, 1, L, L)``
    """
    check_tensor(segments, "segments")
    if segments.ndim != 2 or segments.is_floating_point() or segments.dtype == torch.bool:
        raise ValueError(f"segments must be a (S, L) integer tensor (an image index per slot, "
                         f"-1 for padding), got {tuple(segments.shape)} {segments.dtype}")
    same = segments[:, :, None] == segments[:, None, :]  # (S, L, L): same image
    allowed = same & (segments >= 0)[:, :, None]  # ... and not padding
    return _additive(allowed[:, None], dtype)  # (S, 1, L, L)


def pool_packed(z: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    r"""Each packed image's class token: the first slot of its segment, in image order.

    Shapes:
        z ``(S, L, D)``, segments ``(S, L)`` -> ``(number of images, D)``
    """
    check_tensor(z, "z")
    check_tensor(segments, "segments")
    if z.ndim != 3 or tuple(z.shape[:2]) != tuple(segments.shape):
        raise ValueError(f"z must be (S, L, D) with (S, L) = {tuple(segments.shape)}, got "
                         f"{tuple(z.shape)}")
    starts = torch.ones_like(segments, dtype=torch.bool)
    starts[:, 1:] = segments[:, 1:] != segments[:, :-1]  # (S, L): a segment begins here
    starts &= segments >= 0
    order = segments[starts].argsort()  # the images in index order
    return z[starts][order]  # (number of images, D)


def padding_share(lengths, max_len: int, packed: bool = False) -> float:
    """The share of a batch's slots that hold padding, when sequences of ``lengths`` tokens
    are padded to ``max_len`` one per row, or packed (:func:`pack_lengths`)."""
    lengths = list(lengths)
    rows = len(pack_lengths(lengths, max_len)) if packed else len(lengths)
    if not packed and lengths and max(lengths) > max_len:
        raise ValueError(f"a sequence of {max(lengths)} tokens doesn't fit max_len={max_len}")
    return 1 - sum(lengths) / (rows * max_len)
