"""LaTeX to plain text, for every parser: accents, markup commands, inline math, escapes, braces.

Two strengths, for two kinds of input:

- `latex_to_text` for text where LaTeX is occasional (abstracts in JSON, CSV and scraped pages):
  markup commands are unwrapped (`\\textit{x}` -> "x", `\\frac{a}{b}` -> "a/b", `\\cite{..}` dropped),
  symbols named (`\\alpha` -> "α", `\\unicode{x2013}` -> "–"), `$...$` unfenced, `70\\%` -> "70%",
  `{value-based}` -> "value-based"; anything it does not know (`\\foo`, `{1, 2}`, `O(d^2)`) stays readable.
- `strip_latex` for BibTeX values, where every brace and command is markup: `--`/`---` become
  dashes, escaped characters (`\\%`, `\\{`, `\\textbackslash{}`) are kept aside, then `latex_to_unicode`
  (accents), then `latex_to_text`, then any command, brace or tie left is removed.

And one for the way back: `escape_latex` writes plain text as a BibTeX value that `strip_latex`
reads back unchanged (`rag.references` uses it for every field it exports).

What it does not do: markdown emphasis, teaser cuts or whitespace policy beyond `squash` (see
`rag.parsers.text`), or parse any file. Pure functions; they take any string and never raise.
"""

from __future__ import annotations

import re
import unicodedata

from rag.parsers.common import squash

# ---------------------------------------------------------------------------------------------
# Accents and special letters

_ACCENTS = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a", "d": "\u0323", "b": "\u0331",
}
_LETTERS = {
    "ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ",
    "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "SS": "SS",
}
_BASE = r"(?:\\(?:i|j)(?![A-Za-z])|[A-Za-z])"
_SYMBOL_ACCENT_RE = re.compile(
    r"\{?\\([\"'`^~=.])\s*(?:\{\s*(" + _BASE + r")\s*\}|(" + _BASE + r"))\}?")
_LETTER_ACCENT_RE = re.compile(
    r"\{?\\([uvHckrdb])(?:\s*\{\s*(" + _BASE + r")\s*\}|\s+(" + _BASE + r"))\}?")
_SPECIAL_RE = re.compile(r"\{?\\(ss|SS|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![A-Za-z])\s*(?:\{\})?\}?")


def _accent(m: re.Match) -> str:
    base = m.group(2) or m.group(3)
    if base in ("\\i", "\\j"):
        base = base[1]
    return unicodedata.normalize("NFC", base + _ACCENTS[m.group(1)])


def latex_to_unicode(text: str) -> str:
    """Accents and special letters to Unicode (`{\\"o}` -> "ö", `{\\ss}` -> "ß"); other markup is left."""
    if "\\" not in text:
        return text
    text = _SYMBOL_ACCENT_RE.sub(_accent, text)
    text = _LETTER_ACCENT_RE.sub(_accent, text)
    return _SPECIAL_RE.sub(lambda m: _LETTERS[m.group(1)], text)


# ---------------------------------------------------------------------------------------------
# Markup commands, math, escapes and braces

_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ",
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ",
    "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω", "times": "×", "cdot": "·", "approx": "≈", "sim": "∼", "leq": "≤", "le": "≤",
    "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "infty": "∞", "pm": "±", "to": "→",
    "rightarrow": "→", "leftarrow": "←", "ldots": "…", "dots": "…", "cdots": "⋯", "in": "∈",
    "ell": "ℓ", "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏", "propto": "∝",
    "textendash": "–", "textemdash": "—", "log": "log", "exp": "exp", "max": "max", "min": "min",
    "sqrt": "√", "mid": "|", "circ": "∘", "prime": "′",
}
_DROPPED_COMMANDS = {"cite", "citep", "citet", "ref", "eqref", "label", "footnote", "url"}
_CMD_ARG_RE = re.compile(r"\\([A-Za-z]+)\*?\{([^{}]*)\}(?:\{([^{}]*)\})?")
_BARE_CMD_RE = re.compile(r"\\([A-Za-z]+)(?![A-Za-z{])")
_ESCAPE_RE = re.compile(r"\\([%&_#{}])")
_SPACING_RE = re.compile(r"\\(?:[ ,;:]|\\)")
_MATH_RE = re.compile(r"(?<!\\)\$\$?(?=\S)([^$]{1,300}?)(?<=\S)(?<!\\)\$\$?")
_BRACES_RE = re.compile(r"(?<![\\A-Za-z])\{([^{}\s,\\]*)\}")
_TILDE_RE = re.compile(r"(?<=\w)~(?=[\w(\[])")
_MAX_NESTING = 8


def _unicode_char(arg: str) -> str | None:
    arg = arg.strip()
    try:
        code = int(arg[1:], 16) if arg[:1] in "xX" else int(arg)
    except ValueError:
        return None
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _command_with_arg(m: re.Match) -> str:
    name, arg, second = m.group(1), m.group(2), m.group(3)
    if name in ("frac", "tfrac", "dfrac") and second is not None:
        return f"{arg}/{second}"
    if name == "unicode":
        kept = _unicode_char(arg)
        if kept is None:
            return m.group(0)
    elif name in _DROPPED_COMMANDS:
        kept = ""
    elif name == "sqrt":
        kept = f"√{arg}"
    else:
        kept = arg
    return kept if second is None else f"{kept} {second}"


def _unwrap_commands(text: str) -> str:
    for _ in range(_MAX_NESTING):
        new = _CMD_ARG_RE.sub(_command_with_arg, text)
        if new == text:
            break
        text = new
    return text


def _strip_braces(text: str) -> str:
    for _ in range(_MAX_NESTING):
        new = _BRACES_RE.sub(r"\1", text)
        if new == text:
            break
        text = new
    return text


def latex_to_text(text: str) -> str:
    """Plain text from LaTeX markup: commands unwrapped, inline math unfenced, escapes undone."""
    if "\\" not in text and "$" not in text and "{" not in text and "~" not in text:
        return text
    text = _SPACING_RE.sub(" ", text.replace("\\!", ""))
    text = _unwrap_commands(text)
    text = _BARE_CMD_RE.sub(lambda m: _SYMBOLS.get(m.group(1), m.group(0)), text)
    text = _MATH_RE.sub(r"\1", text)
    text = _strip_braces(text)
    for _ in range(_MAX_NESTING):  # a command whose argument held braces ('\\mathit{2^{128}}') can go now
        if not _CMD_ARG_RE.search(text) or (new := _strip_braces(_unwrap_commands(text))) == text:
            break
        text = new
    text = _ESCAPE_RE.sub(r"\1", text).replace("\\$", "$")
    return _TILDE_RE.sub(" ", text)


# ---------------------------------------------------------------------------------------------
# BibTeX values: all of it, and whatever markup is left

_CMD_BEFORE_BRACE_RE = re.compile(r"\\[A-Za-z]+\*?\s*(?=\{)")
_ANY_CMD_RE = re.compile(r"\\[A-Za-z]+\*?\s?")
# Characters that are markup when bare: escaped, they are text. LaTeX eats one space after a word command.
_TEXT_COMMANDS = {"textbackslash": "\\", "textbraceleft": "{", "textbraceright": "}", "textasciitilde": "~",
                  "textasciicircum": "^"}
_LITERAL_RE = re.compile(r"\\(?:([&%$#_{}])|(" + "|".join(_TEXT_COMMANDS) + r")(?![A-Za-z])(?:\{\}| )?)")
_ASIDE = 0xF0000  # a kept-aside character rides through as chr(_ASIDE + ord(c)), a private-use code point
_ASIDE_RE = re.compile("[" + "".join(chr(_ASIDE + ord(c)) for c in "&%$#_{}\\~^") + "]")


def strip_latex(text: str) -> str:
    """Plain text from a BibTeX value: accents, markup commands, escapes and braces removed."""
    text = text.replace("---", "—").replace("--", "–")  # before braces go, so `-{}-` stays two hyphens
    text = _LITERAL_RE.sub(lambda m: chr(_ASIDE + ord(m.group(1) or _TEXT_COMMANDS[m.group(2)])), text)
    text = latex_to_text(latex_to_unicode(text))
    text = _CMD_BEFORE_BRACE_RE.sub("", text)  # \emph{x} -> {x}
    text = _ANY_CMD_RE.sub("", text)  # \relax, \LaTeX -> dropped
    text = text.replace("{", "").replace("}", "").replace("~", " ")
    return squash(_ASIDE_RE.sub(lambda m: chr(ord(m.group(0)) - _ASIDE), text))


_ESCAPES = {c: "\\" + c for c in "&%$#_"} | {c: f"\\{name}{{}}" for name, c in _TEXT_COMMANDS.items()}
_TO_ESCAPE_RE = re.compile(r"[&%$#_{}\\~^]|([-'`])(?=\1)")


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += (c == "{") - (c == "}")
        if depth < 0:
            return False
    return depth == 0


def escape_latex(text: str) -> str:
    """Plain text as a BibTeX value that `strip_latex` reads back unchanged (whitespace collapsed),
    and LaTeX shows as the same characters: `& % $ # _` get a backslash; braces too when they pair
    up (`\\{x\\}`), else, like `\\ ~ ^`, they become text commands (`\\textbraceleft{}`), since
    BibTeX counts every brace; the ligatures `--`, `''` and ``` `` ``` are kept apart (`-{}-`). Other
    characters, accents included, stay as they are (a UTF-8 .bib file)."""
    text = squash(text)
    braces = {"{": "\\{", "}": "\\}"} if _balanced(text) else {}
    return _TO_ESCAPE_RE.sub(lambda m: m.group(1) + "{}" if m.group(1) else braces.get(m.group(0))
                             or _ESCAPES[m.group(0)], text)
