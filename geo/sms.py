"""SMS: phone numbers, the commands leaders send by SMS, and texts that fit one SMS.

Pure functions, no I/O: the service (:mod:`api.services.sms_in`) applies the commands and
:mod:`api.services.sms_out` sends the texts through Kannel.

Texts go out in Vietnamese **without diacritics**. A 160-character SMS is coded in GSM 03.38
(7 bits a character); one character outside that alphabet (ư, ơ, ạ, ...) makes the phone network
code the whole message in UCS-2, where one SMS holds 70 characters, so a notice that fits once
as ASCII would take three SMS with its diacritics (and many basic phones show them badly).
Vietnamese readers read unaccented SMS every day; names are folded the same way as search folds
them (:func:`geo.text.strip_diacritics`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from geo.errors import LienXaError
from geo.i18n import N_
from geo.text import strip_diacritics

#: One SMS in the GSM 7-bit alphabet.
SMS_LENGTH = 160
#: The longest incoming text a command may be (a command is a few words; anything longer is
#: refused without being parsed).
MAX_COMMAND = 160
#: The characters of the GSM 03.38 basic alphabet that are also ASCII (the others are accented
#: Latin letters Vietnamese does not use the way GSM has them).
GSM7_ASCII = frozenset(
    "@$\n\r _!\"#%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


class SmsError(LienXaError):
    """An SMS that cannot be read: a bad phone number or a command that is not understood."""


class Verb(StrEnum):
    """The commands a leader may send by SMS (ASCII; case and diacritics do not matter)."""

    HELP = "HD"
    OFFER = "GIUP"
    DECLINE = "TC"
    ACCEPT = "DY"
    DISPATCH = "GUI"
    ARRIVE = "NHAN"
    REPORT = "BC"


#: How many numbers each verb takes after it (``BC`` also takes an optional CL|CO flag).
ARITY = {
    Verb.HELP: 0,
    Verb.OFFER: 2,
    Verb.DECLINE: 1,
    Verb.ACCEPT: 1,
    Verb.DISPATCH: 1,
    Verb.ARRIVE: 1,
    Verb.REPORT: 2,
}
#: ``BC``'s last word: the commune is isolated (``CL``, "cô lập") or not (``CO``... "có đường").
ISOLATED_WORDS = {"CL": True, "CO": False, "KCL": False}


@dataclass(frozen=True)
class Command:
    """A parsed SMS command: its verb and numbers (``GIUP 12 10`` -> ``numbers=(12, 10)``);
    ``isolated`` only for ``BC`` (``None`` when not given)."""

    verb: Verb
    numbers: tuple[int, ...] = ()
    isolated: bool | None = None


def normalise_phone(text: str) -> str:
    """``text`` as an E.164 number: ``0912 345 678`` and ``84912345678`` -> ``+84912345678``.

    Spaces, dots, dashes and brackets are dropped; a leading ``0`` is Việt Nam's trunk prefix.

    Raises
    ------
    SmsError
        ``phone_invalid`` (field ``phone``, params ``phone``).
    """
    raw = re.sub(r"[\s.\-()]", "", text or "")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif raw.startswith("0"):
        raw = "+84" + raw[1:]
    elif raw.startswith("84") and not raw.startswith("+"):
        raw = "+" + raw
    if not _PHONE.match(raw) or not raw.startswith("+") or raw[1] == "0":
        raise SmsError(
            f"phone: {text!r} is not a phone number (+84912345678 or 0912345678)",
            code="phone_invalid",
            field="phone",
            params={"phone": text},
        )
    return raw


def gsm_text(text: str) -> str:
    """``text`` folded to what a GSM 7-bit SMS carries: no diacritics (``Châu Khê`` -> ``Chau
    Khe``), other characters outside the alphabet replaced by ``?``, spaces collapsed."""
    plain = strip_diacritics(text)
    plain = " ".join(plain.replace("\n", " ").split())
    return "".join(ch if ch in GSM7_ASCII else "?" for ch in plain)


def parts(text: str) -> int:
    """How many SMS ``text`` (already :func:`gsm_text`) takes: 160 characters in one, 153 in
    each part of a longer, concatenated one."""
    return 1 if len(text) <= SMS_LENGTH else -(-len(text) // 153)


def _words(text: str) -> list[str]:
    return strip_diacritics(text).upper().replace(",", " ").split()


def parse_command(text: str) -> Command:
    """Read one SMS command (``GIUP 12 10``, ``giúp 12 10``, ``dy 7``, ``BC 120 35 CL``).

    Raises
    ------
    SmsError
        ``sms_empty``; ``sms_too_long`` (params ``length``, ``max``); ``sms_unknown_command``
        (params ``command``); ``sms_arguments`` (params ``command``, ``usage``): too few or too
        many words; ``sms_not_a_number`` (params ``value``): a quantity or id that is not a
        whole number.
    """
    if len(text) > MAX_COMMAND:
        raise SmsError(
            f"the SMS has {len(text)} characters; a command has at most {MAX_COMMAND}",
            code="sms_too_long",
            params={"length": len(text), "max": MAX_COMMAND},
        )
    words = _words(text)
    if not words:
        raise SmsError("the SMS is empty", code="sms_empty")
    head, args = words[0], words[1:]
    try:
        verb = Verb(head)
    except ValueError:
        raise SmsError(
            f"unknown command {head!r}",
            code="sms_unknown_command",
            params={"command": gsm_text(head)[:20]},
        ) from None
    flag = None
    if verb == Verb.REPORT and len(args) == ARITY[verb] + 1 and args[-1] in ISOLATED_WORDS:
        flag = ISOLATED_WORDS[args.pop()]
    if len(args) != ARITY[verb]:
        raise SmsError(
            f"{verb} takes {ARITY[verb]} number(s): {usage(verb)}",
            code="sms_arguments",
            params={"command": verb.value, "usage": usage(verb)},
        )
    numbers = []
    for word in args:
        if not word.isdigit() or not word.isascii() or len(word) > 9:
            raise SmsError(
                f"{word!r} is not a whole number",
                code="sms_not_a_number",
                params={"value": gsm_text(word)[:20]},
            )
        numbers.append(int(word))
    return Command(verb, tuple(numbers), flag)


#: Each command's shape, as the help and the errors show it.
USAGE = {
    Verb.HELP: "HD",
    Verb.OFFER: "GIUP <so yeu cau> <so luong>",
    Verb.DECLINE: "TC <so yeu cau>",
    Verb.ACCEPT: "DY <so de nghi>",
    Verb.DISPATCH: "GUI <so de nghi>",
    Verb.ARRIVE: "NHAN <so de nghi>",
    Verb.REPORT: "BC <so nguoi so tan> <so nha ngap> [CL|CO]",
}


def usage(verb: Verb) -> str:
    """How ``verb`` is written (ASCII, the way the help shows it)."""
    return USAGE[verb]


#: The SMS texts (``sms.<event>`` for each notification, the answers to commands) and the
#: pages' words for the same events (``notice.<event>``), looked up by key at run time.
TEXTS = (
    N_("sms.help"), N_("sms.help_short"), N_("sms.help_commands"), N_("sms.error"),
    N_("sms.unknown_number"), N_("sms.ok_offer"), N_("sms.ok_decline"), N_("sms.ok_accept"),
    N_("sms.ok_dispatch"), N_("sms.ok_arrive"), N_("sms.ok_report"), N_("sms.rate_limited"),
    N_("sms.request_addressed"), N_("sms.offer_made"),
    N_("sms.offer_accepted"), N_("sms.offer_declined"), N_("sms.offer_dispatched"),
    N_("sms.offer_arrived"), N_("sms.escalated"), N_("notice.request_addressed"),
    N_("notice.offer_made"), N_("notice.offer_accepted"), N_("notice.offer_declined"),
    N_("notice.offer_dispatched"), N_("notice.offer_arrived"), N_("notice.escalated"),
)  # fmt: skip
