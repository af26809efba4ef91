"""Lesson 08's exercise checkers (``vit_tutorial.exercises.model``): right answers pass,
the student stub is "not implemented yet", and each known mistake gets its own hint."""

from checker_cases import with_answers

from vit_tutorial.model import VisionTransformer


def vit_forward_solution(model, images):
    tokens = model.patch_embed(images)  # x_p E: (B, N, D)
    tokens = model.class_token(tokens)  # prepend x_class: (B, N + 1, D)
    tokens = model.positional_embedding(tokens)  # + E_pos
    z = model.encoder(tokens)  # Eq. 2-3: (B, N + 1, D)
    return model.head(model.norm(z[:, 0]))  # Eq. 4, then the head: (B, classes)


def mean_pooled(model, images):
    z = model.encoder(model.positional_embedding(model.class_token(model.patch_embed(images))))
    return model.head(model.norm(z.mean(dim=1)))


def without_norm(model, images):
    z = model.encoder(model.positional_embedding(model.class_token(model.patch_embed(images))))
    return model.head(z[:, 0])


def without_pos_embed(model, images):
    z = model.encoder(model.class_token(model.patch_embed(images)))
    return model.head(model.norm(z[:, 0]))


def embed_through_the_class(model, images):
    """Eq. 1 from the class's own method: the module the learner is asked to write."""
    z = model.encoder(VisionTransformer.embed(model, images))
    return model.head(model.norm(z[:, 0]))


ANSWERS = {
    "check_vit_answers": {"params_B32_21k": 104_252_499, "params_H14_518": 633_470_440,
                          "head_dim_H14": 80, "tokens_B32_384": 145},
}
SOLUTIONS = {
    "check_vit_forward": vit_forward_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_vit_forward", mean_pooled, "global average pooling"),
    ("check_vit_forward", without_norm, "the final LayerNorm is missing"),
    ("check_vit_forward", without_pos_embed, "E_pos was not added"),
    ("check_vit_forward", lambda model, images: model(images), "called the whole model"),
    ("check_vit_forward", lambda model, images: type(model).forward(model, images),
     "called the whole model"),
    ("check_vit_forward", lambda model, images: model.head(model.forward_features(images)),
     "called the whole model"),
    ("check_vit_forward", embed_through_the_class, "called the whole model"),
    ("check_vit_answers", with_answers(ANSWERS, "check_vit_answers", params_B32_21k=88_224_232),
     "that is with the 1,000-class head"),
    ("check_vit_answers", with_answers(ANSWERS, "check_vit_answers", params_H14_518=632_045_800),
     "that is at 224×224"),
    ("check_vit_answers", with_answers(ANSWERS, "check_vit_answers", head_dim_H14=1280),
     "that is D"),
    ("check_vit_answers", with_answers(ANSWERS, "check_vit_answers", tokens_B32_384=144),
     "the class token is a token too"),
    ("check_vit_answers", with_answers(ANSWERS, "check_vit_answers", tokens_B32_384=577),
     "that is for 16×16 patches"),
]
