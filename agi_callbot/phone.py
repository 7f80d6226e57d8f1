"""Phone numbers: E.164 as messaging providers want them (or a reason why not), and
masked as logs and listings show them.

A caller id from Asterisk is whatever the network delivered: ``+34600111222``,
``600111222`` (national, needs the flow's default region), ``0034600111222``,
``"Ana" <600111222>``, ``sip:+34600111222@carrier``, or a placeholder for a withheld
number (``anonymous``, ``unknown``, ``restricted``…). Providers reject anything but
E.164, and sending to a placeholder is a wasted (billed) attempt, so the outbox asks
:func:`why_not` first and records the reason on a message it skips.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

#: what switches put in the caller id when the number is withheld or missing
_PLACEHOLDERS = frozenset(
    {
        "anonymous",
        "anon",
        "unknown",
        "unavailable",
        "withheld",
        "restricted",
        "private",
        "blocked",
        "asterisk",
        "invalid",
        "none",
        "null",
        "s",
    }
)
_ANGLE = re.compile(r"<([^<>]*)>")
_URI_SCHEME = re.compile(r"^(?:sips?|tel|whatsapp):", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-.()/\u00a0]")
#: longer than any phone number with spacing; parsing beyond this is wasted work
_MAX_INPUT = 64
#: what stands for the hidden digits of a masked number
MASK = "***"
_full_numbers = False


def why_not(raw: str | None, region: str | None) -> str | None:
    """Return why ``raw`` cannot be sent to (``None``: it can).

    Reasons are short and stable, because ``outbox list`` shows them and admins grep
    them: ``anonymous caller``, ``no number``, ``not a valid phone number``, ``national number
    without a default region``, ``unknown region 'XX'``.
    """
    return _parse(raw, region)[1]


def to_e164(raw: str | None, region: str | None) -> str | None:
    """Return ``raw`` as E.164 (``+34600111222``), or ``None`` when :func:`why_not` has a reason.

    ``region`` (ISO 3166 alpha-2, e.g. ``ES``) says how a national number is read;
    ``None`` accepts only international forms (``+…`` or ``00…``).
    """
    return _parse(raw, region)[0]


def _clean(raw: str) -> str:
    text = raw.strip()
    match = _ANGLE.search(text)
    if match:
        text = match.group(1).strip()
    text = _URI_SCHEME.sub("", text)
    text = text.split("@", 1)[0].split(";", 1)[0]
    return _SEPARATORS.sub("", text)


def _parse(raw: str | None, region: str | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, "no number"
    return _parse_text(str(raw), region)


#: a call parses its caller id once for the variables and again for each message and
#: opt-in; the same few thousand callers call back all day. Pure: metadata is fixed.
@lru_cache(maxsize=8192)
def _parse_text(raw: str, region: str | None) -> tuple[str | None, str | None]:
    if not raw.strip():
        return None, "no number"
    if len(raw) > _MAX_INPUT:
        return None, "not a valid phone number"
    text = _clean(raw)
    if not text:
        return None, "no number"
    if text.lower() in _PLACEHOLDERS or text.lower().startswith("anonymous"):
        return None, "anonymous caller"
    if text.startswith("00"):
        # the international prefix most of the world dials; regions whose IDD differs
        # (011 in NANP) are still read by phonenumbers with that region
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d+", text):
        return None, "not a valid phone number"
    if region:
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            return None, f"unknown region {region!r}"
    elif not text.startswith("+"):
        return None, "national number without a default region"
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None, "not a valid phone number"
    if not phonenumbers.is_valid_number(number):
        return None, "not a valid phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


# --------------------------------------------------------------------------- masking


def mask_number(number: str | None) -> str:
    """Hide the middle of a phone number: ``+34600111222`` → ``+34600***222``.

    The last three digits and the country/area prefix stay (enough to tell calls apart
    and to see where they came from); at least three digits are hidden, more for longer
    numbers so that at most eight remain. Numbers of six digits or fewer (extensions,
    ``112``) are not personal and stay as they are; text without digits
    (``anonymous``) too. Separators are kept where they were.
    """
    if not number:
        return ""
    plus = number[0] == "+"
    if number[plus:].isdigit() and number.isascii():  # the usual shape: no separators
        digits = len(number) - plus
        if digits <= 6:
            return number
        hidden = max(3, digits - 8)
        start = plus + digits - 3 - hidden
        return number[:start] + MASK + number[start + hidden :]
    digits = sum(ch.isdigit() for ch in number)
    if digits <= 6:
        return number
    hidden = max(3, digits - 8)
    first = digits - 3 - hidden  # index of the first hidden digit
    out: list[str] = []
    seen = 0
    run_open = False
    for ch in number:
        if ch.isdigit():
            if first <= seen < first + hidden:
                if not run_open:
                    out.append(MASK)
                    run_open = True
                seen += 1
                continue
            seen += 1
        elif run_open and first < seen < first + hidden:
            continue  # separators inside the hidden run go with it
        out.append(ch)
    return "".join(out)


def show_number(number: str | None) -> str:
    """A number as logs may show it: masked unless ``log.full_numbers`` is set."""
    return (number or "") if _full_numbers else mask_number(number)


def show_full_numbers(full: bool) -> None:
    """``log.full_numbers``: :func:`show_number` shows numbers whole (set with logging)."""
    global _full_numbers
    _full_numbers = full
