"""Speed of the course's modules next to timm and torchvision, measured in one process.

Run::

    python -m vit_tutorial.benchmark

Each case runs our implementation and the reference implementations, holding the same
weights, on the same input. The calls are interleaved round by round (so that a slow
moment of the machine hits every contender alike) and each contender's median time is
reported; the ratio is ours / the faster reference. Needs timm (``pip install timm``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vit_tutorial.files import interruptible

__all__ = ["Case", "time_case", "input_pipeline_case", "embedding_case", "resize_cases",
           "vit_case", "main"]


@dataclass
class Case:
    """One benchmark: our function and the references that do the same job."""

    name: str
    ours: Callable[[], object]
    references: dict[str, Callable[[], object]]


def time_case(case: Case, rounds: int = 30, warmup: int = 3) -> dict[str, float]:
    """Median seconds per call for each contender, calls interleaved round by round."""
    contenders = {"ours": case.ours, **case.references}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    with torch.inference_mode():
        for _ in range(warmup):
            for fn in contenders.values():
                fn()
        for _ in range(rounds):
            for name, fn in contenders.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def input_pipeline_case(batch_size: int = 32) -> Case:
    """Patches -> embedding -> class token: ours vs timm's PatchEmbed + concat vs
    torchvision's ``conv_proj`` path (``_process_input`` + class token), same weights."""
    from timm.layers import PatchEmbed
    from torchvision.models import vit_b_16

    from vit_tutorial.class_token import ClassToken
    from vit_tutorial.patch_embedding import PatchEmbedding

    torch.manual_seed(0)
    ours_embed, ours_cls = PatchEmbedding().eval(), ClassToken(768, init="randn")
    timm_embed = PatchEmbed(img_size=224, patch_size=16, in_chans=3, embed_dim=768).eval()
    timm_embed.load_state_dict(ours_embed.state_dict())
    timm_cls = ours_cls.cls_token.detach().clone()
    tv = vit_b_16().eval()  # random weights; only conv_proj and class_token are used
    tv.conv_proj.load_state_dict(ours_embed.proj.state_dict())
    with torch.no_grad():
        tv.class_token.copy_(ours_cls.cls_token)
    x = torch.randn(batch_size, 3, 224, 224)

    def ours():
        return ours_cls(ours_embed(x))

    def timm():
        tokens = timm_embed(x)
        return torch.cat([timm_cls.expand(tokens.shape[0], -1, -1), tokens], dim=1)

    def torchvision():
        tokens = tv._process_input(x)
        return torch.cat([tv.class_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)

    with torch.inference_mode():
        expected = ours()
        for reference in (timm, torchvision):
            torch.testing.assert_close(reference(), expected, rtol=0, atol=1e-5)
    return Case(f"patch embedding + class token, ({batch_size}, 3, 224, 224)", ours,
                {"timm": timm, "torchvision": torchvision})


def embedding_case(batch_size: int = 32) -> Case:
    """The whole input pipeline of Eq. 1 — patches -> E -> x_class -> + E_pos — ours
    (``VisionTransformer.embed``) vs timm's ``VisionTransformer`` (``patch_embed`` +
    ``_pos_embed``), same weights."""
    from timm.models.vision_transformer import VisionTransformer as TimmViT

    from vit_tutorial.model import VisionTransformer, ViTConfig

    torch.manual_seed(0)
    ours_model = VisionTransformer(ViTConfig(depth=1)).eval()  # only the input pipeline runs
    reference = TimmViT(img_size=224, patch_size=16, embed_dim=768, depth=1, num_heads=12).eval()
    with torch.no_grad():
        reference.patch_embed.proj.load_state_dict(ours_model.patch_embed.proj.state_dict())
        reference.cls_token.copy_(ours_model.class_token.cls_token)
        reference.pos_embed.copy_(ours_model.positional_embedding.pos_embed)
    x = torch.randn(batch_size, 3, 224, 224)

    def ours():
        return ours_model.embed(x)

    def timm():
        return reference._pos_embed(reference.patch_embed(x))

    with torch.inference_mode():
        torch.testing.assert_close(timm(), ours(), rtol=0, atol=1e-5)
    return Case(f"patches -> E -> x_class -> + E_pos, ({batch_size}, 3, 224, 224)", ours,
                {"timm": timm})


def resize_cases() -> list[Case]:
    """``resize_pos_embed`` with each library's settings vs that library's function, on
    ViT-B/16's E_pos going from 224 to 384 (14×14 -> 24×24, 197 -> 577 rows)."""
    from collections import OrderedDict

    from timm.layers import resample_abs_pos_embed
    from torchvision.models.vision_transformer import interpolate_embeddings

    from vit_tutorial.interpolation import resize_pos_embed

    torch.manual_seed(0)
    pos_embed = torch.randn(1, 197, 768) * 0.02
    state = OrderedDict({"encoder.pos_embedding": pos_embed})

    def ours_timm():
        return resize_pos_embed(pos_embed, 24, antialias=True)

    def timm():
        return resample_abs_pos_embed(pos_embed, [24, 24], num_prefix_tokens=1)

    def ours_torchvision():
        return resize_pos_embed(pos_embed, 24, align_corners=True)

    def torchvision():  # it writes the result into the dict it is given: pass a fresh one
        return interpolate_embeddings(384, 16, OrderedDict(state))["encoder.pos_embedding"]

    with torch.inference_mode():
        torch.testing.assert_close(ours_timm(), timm(), rtol=0, atol=1e-6)
        torch.testing.assert_close(ours_torchvision(), torchvision(), rtol=0, atol=1e-6)
    return [Case("resize_pos_embed 14×14 -> 24×24, timm's settings", ours_timm, {"timm": timm}),
            Case("resize_pos_embed 14×14 -> 24×24, torchvision's settings", ours_torchvision,
                 {"torchvision": torchvision})]


def vit_case(batch_size: int = 8) -> Case:
    """The whole ViT-B/16 forward pass in eval mode: ours vs torchvision's and timm's models
    holding the same weights (converted with ``vit_tutorial.weights``)."""
    import timm as timm_lib
    import torchvision

    from vit_tutorial.weights import from_timm

    torch.manual_seed(0)
    reference_timm = timm_lib.create_model("vit_base_patch16_224", pretrained=False).eval()
    ours_model = from_timm(reference_timm).eval()
    reference_tv = torchvision.models.vit_b_16().eval()
    with torch.no_grad():  # the same weights, in torchvision's layout
        reference_tv.conv_proj.load_state_dict(reference_timm.patch_embed.proj.state_dict())
        reference_tv.class_token.copy_(reference_timm.cls_token)
        reference_tv.encoder.pos_embedding.copy_(reference_timm.pos_embed)
        for block, layer in zip(reference_timm.blocks, reference_tv.encoder.layers):
            layer.ln_1.load_state_dict(block.norm1.state_dict())
            layer.self_attention.in_proj_weight.copy_(block.attn.qkv.weight)
            layer.self_attention.in_proj_bias.copy_(block.attn.qkv.bias)
            layer.self_attention.out_proj.load_state_dict(block.attn.proj.state_dict())
            layer.ln_2.load_state_dict(block.norm2.state_dict())
            layer.mlp[0].load_state_dict(block.mlp.fc1.state_dict())
            layer.mlp[3].load_state_dict(block.mlp.fc2.state_dict())
        reference_tv.encoder.ln.load_state_dict(reference_timm.norm.state_dict())
        reference_tv.heads.head.load_state_dict(reference_timm.head.state_dict())
    x = torch.randn(batch_size, 3, 224, 224)

    def ours():
        return ours_model(x)

    def timm():
        return reference_timm(x)

    def torchvision_():
        return reference_tv(x)

    with torch.inference_mode():
        expected = ours()
        torch.testing.assert_close(timm(), expected, rtol=0, atol=1e-4)
        torch.testing.assert_close(torchvision_(), expected, rtol=0, atol=1e-4)
    return Case(f"ViT-B/16 forward, eval, ({batch_size}, 3, 224, 224)", ours,
                {"timm": timm, "torchvision": torchvision_})


CASES = {"input": lambda: [input_pipeline_case()], "embedding": lambda: [embedding_case()],
         "resize": resize_cases, "vit": lambda: [vit_case()]}


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.benchmark",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30,
                        help="timed calls per contender (at least 1)")
    parser.add_argument("--only", choices=sorted(CASES), nargs="*", help="run only these cases")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of "
          f"{args.rounds} interleaved calls")
    for case in [case for key in args.only or CASES for case in CASES[key]()]:
        medians = time_case(case, rounds=args.rounds)
        best_name = min(case.references, key=medians.get)
        print(f"\n{case.name}")
        for name, seconds in medians.items():
            print(f"  {name:<12} {seconds * 1e3:9.2f} ms")
        print(f"  ratio ours / {best_name} (the faster reference): "
              f"{medians['ours'] / medians[best_name]:.3f}")
    print("\n(the explorers' redraw times: python -m vit_tutorial.explorers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
