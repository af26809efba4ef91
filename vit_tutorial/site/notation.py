r"""The course's notation both ways: plain text to TeX (for the site), TeX to plain text
(for search).

The README and the lesson registry write the paper's symbols in plain Unicode
(``x_p ∈ ℝ^{N×(P²·C)}``, ``E_pos``), which GitHub shows as it is; the site renders them as
math. :func:`to_tex` turns one such formula into TeX, and :func:`with_math` finds the
formulas in a line of prose and wraps each in ``$…$``.

The lessons write TeX, which the site's search can neither match nor show: :func:`to_text`
turns it into the plain form above (``E_\text{pos}`` → ``E_pos``,
``\mathbb{R}^{N \times D}`` → ``ℝ^{N×D}``), which the search index holds and the result
excerpts show.
"""

from __future__ import annotations

import re

__all__ = ["to_tex", "with_math", "to_text"]

# ---------------------------------------------------------------- plain text -> TeX

_TO_TEX = (("ℝ", r"\mathbb{R}"), ("×", r"\times "), ("·", r"\cdot "), ("∈", r"\in "),
           ("→", r"\to "), ("²", "^2"), ("_class", r"_\text{class}"), ("_pos", r"_\text{pos}"))

_SYMBOL = r"[A-Za-z]_(?:class|pos|[A-Za-z0-9])\b(?:\^[A-Za-z0-9])?"  # x_p, E_pos, z_L^0
_SPACE = r"ℝ\^\{(?:[^{}]|\{[^{}]*\})*\}"  # ℝ^{N×(P²·C)}
_RATIO = r"\b[A-Z]+/[A-Z]²"  # HW/P²
_LETTER = r"\b[A-Za-z]\b"  # a single letter: only as part of a formula (N = HW/P²)
_ATOM = rf"(?:{_SYMBOL}|{_SPACE}|{_RATIO}|{_LETTER})"
_FORMULA = re.compile(rf"{_ATOM}(?:\s*[∈→=]\s*{_ATOM}|\s[A-Z]\b(?!\s*[∈→=]))*")
_NOTATION = re.compile(rf"{_SYMBOL}|{_SPACE}|{_RATIO}")  # what makes a formula a formula


def to_tex(formula: str) -> str:
    """One formula in the course's plain notation as TeX (without ``$``):
    ``x_p ∈ ℝ^{N×(P²·C)}`` → ``x_p \\in \\mathbb{R}^{N\\times (P^2\\cdot C)}``."""
    for plain, tex in _TO_TEX:
        formula = formula.replace(plain, tex)
    return re.sub(r" {2,}", " ", formula).strip()


def with_math(text: str) -> str:
    """A line of Markdown prose with each formula in the course's notation wrapped in
    ``$…$`` (``x_p E``, ``E_pos``, ``N = HW/P²``); code spans are left alone."""
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):  # the even parts are outside code spans

        def wrap(match: re.Match) -> str:
            found = match.group(0)
            return f"${to_tex(found)}$" if _NOTATION.search(found) else found

        parts[i] = _FORMULA.sub(wrap, parts[i])
    return "".join(parts)


# ---------------------------------------------------------------- TeX -> plain text

_SYMBOLS = {
    "times": "×", "cdot": "·", "in": "∈", "notin": "∉", "to": "→", "rightarrow": "→",
    "mapsto": "↦", "leftarrow": "←", "approx": "≈", "le": "≤", "leq": "≤", "ge": "≥",
    "geq": "≥", "ne": "≠", "neq": "≠", "pm": "±", "top": "⊤", "dots": "…", "ldots": "…",
    "cdots": "⋯", "sum": "Σ", "prod": "Π", "ell": "ℓ", "infty": "∞", "odot": "⊙",
    "otimes": "⊗", "oplus": "⊕", "mid": "|", "langle": "⟨", "rangle": "⟩", "lVert": "‖",
    "rVert": "‖", "|": "‖", "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "partial": "∂", "nabla": "∇", "propto": "∝", "sim": "∼", "bmod": " mod ", "%": "%",
    "{": "{", "}": "}", "_": "_", "#": "#", "&": "&", "$": "$",
    ",": " ", ";": " ", ":": " ", " ": " ", "quad": " ", "qquad": " ", "!": "",
    "big": "", "Big": "", "bigg": "", "Bigg": "", "left": "", "right": "", "displaystyle": "",
}
_GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda "
          "mu nu xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda "
          "Xi Pi Sigma Upsilon Phi Psi Omega").split()
_GREEK_LETTERS = "αβγδεεζηθϑικλμνξπρστυφϕχψωΓΔΘΛΞΠΣΥΦΨΩ"
_SYMBOLS.update(zip(_GREEK, _GREEK_LETTERS))
_STYLES = {"text", "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "operatorname",
           "boldsymbol", "mathcal", "textbf", "textit", "emph", "mbox"}
_BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ"}
_ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7",
            "dot": "\u0307"}
_FRACTIONS = {"frac", "dfrac", "tfrac"}
_SUPERSCRIPTS = str.maketrans("0123456789+-−=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿ")
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}^_]|\s+|[^\\{}^_\s]+")


def _tokens(tex: str) -> list[str]:
    tokens = []
    for token in _TOKEN.findall(tex):
        if token[0] not in "\\{}^_" and not token.isspace() and len(token) > 1:
            tokens.extend(token)  # one character each: `x_pq` is x_p q, as in TeX
        else:
            tokens.append(token)
    return tokens


def _argument(tokens: list[str], i: int) -> tuple[str, int]:
    """The argument starting at ``tokens[i]`` (a ``{…}`` group or one item), as text."""
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    if i < len(tokens) and tokens[i] == "{":
        depth, j = 1, i + 1
        while j < len(tokens) and depth:
            depth += {"{": 1, "}": -1}.get(tokens[j], 0)
            j += 1
        return _convert(tokens[i + 1:j - 1]), j
    return _item(tokens, i)


def _script(mark: str, text: str) -> str:
    text = text.strip()
    if mark == "^" and text and text.translate(_SUPERSCRIPTS) != text and all(
            c in "0123456789+-−=()n" for c in text):
        return text.translate(_SUPERSCRIPTS)
    simple = re.fullmatch(r"[\w′⊤ℓ]+", text) and (len(text) == 1 or mark == "_")
    return f"{mark}{text}" if simple else f"{mark}{{{text}}}"


def _item(tokens: list[str], i: int) -> tuple[str, int]:
    """One token at ``tokens[i]`` with the arguments it takes, as text; and where the next
    item starts."""
    if i >= len(tokens):
        return "", i
    token, name = tokens[i], tokens[i][1:] if tokens[i].startswith("\\") else None
    i += 1
    if token in ("^", "_"):
        text, i = _argument(tokens, i)
        return _script(token, text), i
    if token == "{":
        return _argument(tokens, i - 1)
    if token == "}":
        return "", i
    if token.isspace():
        return " ", i
    if name is None:
        return token, i
    if name in _STYLES or name == "mathbb" or name in _ACCENTS or name == "sqrt":
        text, i = _argument(tokens, i)
        if name == "mathbb":
            return _BLACKBOARD.get(text, text), i
        if name in _ACCENTS:
            return text + _ACCENTS[name], i
        if name == "sqrt":
            return (f"√{text}" if len(text) == 1 else f"√({text})"), i
        return text, i
    if name in _FRACTIONS:
        top, i = _argument(tokens, i)
        bottom, i = _argument(tokens, i)
        return "/".join(t if re.fullmatch(r"\w+", t) else f"({t})" for t in (top, bottom)), i
    return _SYMBOLS.get(name, name), i  # \cos, \max, \softmax, ...: the name itself


def _convert(tokens: list[str]) -> str:
    out, i = [], 0
    while i < len(tokens):
        text, i = _item(tokens, i)
        out.append(text)
    return "".join(out)


def to_text(tex: str) -> str:
    r"""TeX as plain text a person can read and a search can match:
    ``E_\text{pos} \in \mathbb{R}^{(N+1) \times D}`` → ``E_pos ∈ ℝ^{(N+1)×D}``."""
    text = _convert(_tokens(tex.replace("\\\\", " ")))
    text = re.sub(r"\s*([×·∈→=≈≤≥])\s*", r" \1 ", text)  # one space around operators
    text = re.sub(r"(?<=[\w)}]) ([×·]) (?=[\w(])", r"\1", text)  # ... except × and ·
    return re.sub(r"\s+", " ", text).strip()
