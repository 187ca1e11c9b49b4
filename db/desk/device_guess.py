"""The device's type guessed from what is typed as its brand and model ("iPhone 12" → phone,
"MacBook Air" → laptop), so the desk can type the model straight away and skip the type
button; the guess is shown on the intake and changed with one tap. A rule table: the first
rule whose word is in the text wins, model words before brand words (Apple makes phones and
laptops, "Apple iPhone" is a phone). The result is a device type's `code` (the seeded ones:
phone, laptop, tablet, pc, tv); None when nothing fits."""

from __future__ import annotations

import re

# (a word or the start of one, the device type's code): model families first.
MODEL_RULES: tuple[tuple[str, str], ...] = (
    ("iphone", "phone"), ("ipad", "tablet"), ("macbook", "laptop"), ("imac", "pc"),
    ("mac mini", "pc"), ("mac pro", "pc"), ("galaxy tab", "tablet"), ("galaxy book", "laptop"),
    ("galaxy", "phone"), ("redmi pad", "tablet"), ("redmi", "phone"), ("poco", "phone"),
    ("pixel", "phone"), ("mi pad", "tablet"), ("matepad", "tablet"), ("matebook", "laptop"),
    ("thinkpad", "laptop"), ("ideapad", "laptop"), ("legion", "laptop"), ("yoga", "laptop"),
    ("zenbook", "laptop"), ("vivobook", "laptop"), ("rog", "laptop"), ("tuf", "laptop"),
    ("pavilion", "laptop"), ("probook", "laptop"), ("elitebook", "laptop"), ("envy", "laptop"),
    ("omen", "laptop"), ("inspiron", "laptop"), ("latitude", "laptop"), ("xps", "laptop"),
    ("aspire", "laptop"), ("nitro", "laptop"), ("predator", "laptop"), ("swift", "laptop"),
    ("surface pro", "tablet"), ("surface laptop", "laptop"), ("chromebook", "laptop"),
    ("notebook", "laptop"), ("ноутбук", "laptop"), ("laptop", "laptop"),
    ("tab", "tablet"), ("планшет", "tablet"), ("телефон", "phone"), ("смартфон", "phone"),
    ("bravia", "tv"), ("телевизор", "tv"), ("телевізор", "tv"), ("tv", "tv"),
    ("системный блок", "pc"), ("системник", "pc"), ("компьютер", "pc"), ("комп'ютер", "pc"),
    ("моноблок", "pc"),
)
# Brands that mostly come to a repair desk as one kind of device.
BRAND_RULES: tuple[tuple[str, str], ...] = (
    ("xiaomi", "phone"), ("huawei", "phone"), ("honor", "phone"), ("oneplus", "phone"),
    ("oppo", "phone"), ("vivo", "phone"), ("realme", "phone"), ("motorola", "phone"),
    ("nokia", "phone"), ("meizu", "phone"), ("zte", "phone"), ("tecno", "phone"),
    ("infinix", "phone"), ("blackview", "phone"), ("doogee", "phone"), ("ulefone", "phone"),
    ("nothing", "phone"), ("samsung", "phone"), ("google", "phone"),
    ("lenovo", "laptop"), ("asus", "laptop"), ("acer", "laptop"), ("msi", "laptop"),
    ("dell", "laptop"), ("hp", "laptop"), ("toshiba", "laptop"), ("lg", "tv"),
    ("philips", "tv"), ("kivi", "tv"), ("hisense", "tv"), ("tcl", "tv"),
)


def _has_word(text: str, word: str) -> bool:
    """`word` at the start of a word of `text` ("iphone" in "iPhone12", "tab" in "Tab S7")."""
    return re.search(r"(?<![\w'])" + re.escape(word), text) is not None


def guess_device_type(text: str) -> str | None:
    """The device type's code for a typed brand and model, None when no rule fits."""
    low = " ".join(text.lower().split())
    for word, code in MODEL_RULES:
        if _has_word(low, word):
            return code
    first = low.split(" ", 1)[0] if low else ""
    for word, code in BRAND_RULES:
        if first == word:
            return code
    return None


OTHER = "other"  # the seeded "Другое"


def typed_device_type(text: str) -> str | None:
    """What `text` typed at the type question is: a model whose type the rules know (that
    type's code), a model no rule knows ("other": it has digits or a defect after a comma), or
    None: a type's own name ("Наушники")."""
    model, defect = split_model_and_defect(text)
    code = guess_device_type(model)
    if code is None and (defect or any(c.isdigit() for c in model)):
        return OTHER
    return code


def split_model_and_defect(text: str) -> tuple[str, str]:
    """"iPhone 12, не заряжается" → ("iPhone 12", "не заряжается"): the first comma parts the
    model from the defect; without a comma (or with nothing on one side) all is the model."""
    model, comma, defect = text.partition(",")
    if not comma or not model.strip() or not defect.strip():
        return text.strip(), ""
    return model.strip(), defect.strip()


def looks_like_serial(text: str) -> bool:
    """A serial number or IMEI typed on the review screen without its button: one token of
    Latin letters and digits (spaces and dashes allowed inside, as IMEIs are printed), 5 to 64
    characters, at least one digit. "#12", words and short codes are not."""
    value = text.strip()
    compact = re.sub(r"[\s\-/]", "", value)
    return (5 <= len(compact) and len(value) <= 64 and compact.isascii() and compact.isalnum()
            and any(c.isdigit() for c in compact))
