"""What a commune-page action did, in words ("Đã gửi đề nghị 10 xuồng tới Xã Con Cuông"),
read back after the redirect from the request or offer it made or moved."""

from __future__ import annotations

from fastapi import Request

from api.auth import Principal
from api.db import session_scope
from api.errors import ServiceError
from api.services.offers import get_offer
from api.services.requests import get_request
from api.state import state_of
from api.web.render import commune_name, lang_of, resource_labels, say
from geo import i18n
from geo.i18n import N_

#: ``done`` value of an offer action -> its notice (``{amount}``, ``{commune}``: the other side)
OFFER_NOTICES = {
    "offer": N_("done.offer_made"),
    "accept": N_("done.offer_accepted"),
    "decline": N_("done.offer_declined"),
    "dispatch": N_("done.offer_dispatched"),
    "arrive": N_("done.offer_arrived"),
    "cancel": N_("done.offer_cancelled"),
}


def notice_text(request: Request, p: Principal, done: str, ref: str) -> str | None:
    """The notice for action ``done`` on request or offer ``ref``; None when there is nothing
    to word (an unknown action, an id the user may not read): the page says "saved" then."""
    if done == "inventory":
        return say(request, N_("done.inventory_saved"))
    if not (ref.isascii() and ref.isdigit() and 0 < len(ref) <= 10):
        return None
    lang = lang_of(request)
    labels = resource_labels(lang)

    def amount(q: int, resource: str) -> str:
        return f"{i18n.number(q, lang)} {labels.get(resource, resource)}"

    try:
        with session_scope(state_of(request).read_session) as s:
            if done == "request":
                r = get_request(s, p, int(ref))
                return say(
                    request,
                    N_("done.request_sent"),
                    amount=amount(r["quantity"], r["resource"]),
                    communes=", ".join(commune_name(request, c) for c in r["to"]),
                )
            if done == "declined":
                r = get_request(s, p, int(ref))
                return say(
                    request,
                    N_("done.request_declined"),
                    request_id=r["id"],
                    commune=commune_name(request, r["commune"]),
                )
            if done in OFFER_NOTICES:
                o = get_offer(s, p, int(ref))
                r = get_request(s, p, o["request_id"])
                # the other side: the requester for the giver's actions, else the giver
                other = r["commune"] if done in ("offer", "dispatch", "cancel") else o["commune"]
                return say(
                    request,
                    OFFER_NOTICES[done],
                    amount=amount(o["quantity"], r["resource"]),
                    commune=commune_name(request, other),
                )
    except ServiceError:
        return None
    return None
