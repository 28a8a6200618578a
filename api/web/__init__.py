"""Server-rendered pages (Vietnamese first, English switch): login, a commune leader's home,
the defence command's view, the planner's rules page. Forms post here, are CSRF-checked,
validated with errors next to each field, and keep what was typed on an error."""

from __future__ import annotations

import datetime as dt
import hmac
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from api.auth import SESSION_COOKIE, Principal, authenticate
from api.db import session_scope
from api.errors import ServiceError
from api.models import Incident, as_utc
from api.services.incidents import latest_plan
from api.services.rules import create_rule, current_rules, retire_rule, update_rule, version_dict
from api.services.workflow import (
    create_offer,
    create_request,
    decline_request,
    inventory_of,
    list_requests,
    set_inventory,
    transition_offer,
)
from geo.errors import LienXaError
from geo.resources import PILLARS, load_catalogue
from maps.builders import STATUS_LABELS, vn_day, vn_number

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
VN_TZ = dt.timezone(dt.timedelta(hours=7))

T = {
    "vi": {"app": "Liên Xã", "login": "Đăng nhập", "logout": "Đăng xuất", "username": "Tên đăng nhập",
           "password": "Mật khẩu", "wrong": "Sai tên đăng nhập hoặc mật khẩu", "required": "Bắt buộc",
           "inventory": "Nguồn lực tại chỗ (4 tại chỗ)", "save": "Lưu", "saved": "Đã lưu",
           "request": "Yêu cầu hỗ trợ", "incident": "Sự cố", "resource": "Nguồn lực", "quantity": "Số lượng",
           "to": "Gửi đến (mã xã, cách nhau bởi dấu phẩy)", "urgency": "Mức khẩn", "note": "Ghi chú",
           "send": "Gửi yêu cầu", "incoming": "Yêu cầu đến", "outgoing": "Yêu cầu đi", "offer": "Đề nghị hỗ trợ",
           "decline": "Từ chối", "accept": "Chấp nhận", "dispatch": "Xuất phát", "arrive": "Đã đến",
           "cancel": "Hủy", "on_way": "Đang trên đường", "none": "Không có", "status": "Trạng thái",
           "command": "Ban Chỉ huy", "overview": "Toàn cảnh", "live": "Theo dõi trực tiếp", "unmet": "Chưa đáp ứng",
           "escalations": "Chuyển lên cấp trên", "planner": "Quy tắc liên kết", "rules": "Quy tắc hiện hành",
           "add_rule": "Thêm quy tắc", "type": "Loại", "reason": "Lý do", "retire": "Bãi bỏ", "edit": "Sửa",
           "document": "Văn bản", "valid_from": "Hiệu lực từ", "valid_to": "đến", "minutes": "Thời gian (phút)",
           "suggested": "Gợi ý theo kế hoạch", "sample": "DỮ LIỆU MẪU – không phải số liệu khảo sát",
           "offers": "Đề nghị", "from": "từ", "updated": "Cập nhật", "map": "Bản đồ", "print": "In",
           "forces": "Lực lượng", "means": "Phương tiện", "materials": "Vật tư", "logistics": "Hậu cần",
           "available": "sẵn có", "reserved": "đã hứa", "commune_a": "Xã A", "commune_b": "Xã B",
           "commune": "Xã", "remaining": "còn thiếu", "my_offers": "Đề nghị của xã đã gửi",
           "urgencies": {"low": "thấp", "normal": "bình thường", "high": "cao", "critical": "khẩn cấp"},
           "roles": {"commune_leader": "lãnh đạo xã", "defence_command": "Ban Chỉ huy quân sự",
                     "planner": "cán bộ quy hoạch", "admin": "quản trị"},
           "rule_types": {"agreement": "thỏa thuận phối hợp", "add_link": "thêm liên kết",
                          "close_link": "đóng liên kết", "travel_minutes": "thời gian di chuyển"}},
    "en": {"app": "Liên Xã", "login": "Log in", "logout": "Log out", "username": "Username", "password": "Password",
           "wrong": "Wrong username or password", "required": "Required", "inventory": "On-site resources (4 on-site)",
           "save": "Save", "saved": "Saved", "request": "Request support", "incident": "Incident",
           "resource": "Resource", "quantity": "Quantity", "to": "To (commune codes, comma separated)",
           "urgency": "Urgency", "note": "Note", "send": "Send request", "incoming": "Incoming requests",
           "outgoing": "Outgoing requests", "offer": "Offer", "decline": "Decline", "accept": "Accept",
           "dispatch": "Dispatch", "arrive": "Arrived", "cancel": "Cancel", "on_way": "On its way", "none": "None",
           "status": "Status", "command": "Defence command", "overview": "Overview", "live": "Live",
           "unmet": "Unmet", "escalations": "Escalations", "planner": "Adjacency rules", "rules": "Rules in force",
           "add_rule": "Add a rule", "type": "Type", "reason": "Reason", "retire": "Retire", "edit": "Edit",
           "document": "Document", "valid_from": "Valid from", "valid_to": "to", "minutes": "Travel minutes",
           "suggested": "Suggested by the plan", "sample": "SAMPLE DATA – not a survey", "offers": "Offers",
           "from": "from", "updated": "Updated", "map": "Map", "print": "Print", "forces": "Forces",
           "means": "Means", "materials": "Materials", "logistics": "Logistics", "available": "available",
           "reserved": "promised", "commune_a": "Commune A", "commune_b": "Commune B",
           "commune": "Commune", "remaining": "still needed", "my_offers": "Our offers",
           "urgencies": {"low": "low", "normal": "normal", "high": "high", "critical": "critical"},
           "roles": {"commune_leader": "commune leader", "defence_command": "defence command",
                     "planner": "planner", "admin": "admin"},
           "rule_types": {"agreement": "coordination agreement", "add_link": "add a link",
                          "close_link": "close a link", "travel_minutes": "travel time"}},
}


def vn_date(value: dt.datetime | None) -> str:
    """``dd/mm/yyyy HH:MM`` in Vietnam time."""
    if value is None:
        return ""
    return as_utc(value).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


templates.env.filters["vn_number"] = vn_number
templates.env.filters["vn_date"] = vn_date
templates.env.filters["vn_day"] = vn_day


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    return lang if lang in T else "vi"


def render(request: Request, name: str, ctx: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    csrf = request.app.state.tokens.csrf_for(token) if token else ""
    catalogue = load_catalogue()
    labels = {k: (r.label_vi if lang == "vi" else r.label_en) for k, r in catalogue.items()}
    base = {"request": request, "t": T[lang], "lang": lang, "csrf": csrf, "catalogue": catalogue, "labels": labels,
            "pillars": PILLARS, "statuses": STATUS_LABELS[lang],
            "status_label": lambda s: STATUS_LABELS[lang].get(s, s)}
    return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)


def current(request: Request) -> Principal | None:
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        with session_scope(request.app.state.read_session) as s:
            return authenticate(request, s)
    except ServiceError:
        return None


async def form_of(request: Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    token = request.cookies.get(SESSION_COOKIE, "")
    expected = request.app.state.tokens.csrf_for(token) if token else ""
    if not token or not hmac.compare_digest(form.get("csrf_token", ""), expected):
        raise ServiceError("CSRF token missing or wrong: reload the page")
    request.state.csrf_form_token = form.get("csrf_token")
    return form


def home_for(p: Principal) -> str:
    return {"commune_leader": "/commune", "planner": "/planner"}.get(p.role, "/command")


@router.get("/")
def index(request: Request) -> Response:
    p = current(request)
    return RedirectResponse(home_for(p) if p else "/login", status_code=303)


@router.get("/lang/{lang}")
def set_lang(request: Request, lang: str) -> Response:
    resp = RedirectResponse(request.headers.get("referer") or "/", status_code=303)
    resp.set_cookie("lang", lang if lang in T else "vi", max_age=365 * 86400, samesite="lax")
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", {"errors": {}, "form": {}})


@router.post("/login")
async def login_post(request: Request) -> Response:
    from api.routes.auth import login

    form = {k: str(v) for k, v in (await request.form()).items()}
    errors = {f: T[lang_of(request)]["required"] for f in ("username", "password") if not form.get(f)}
    if not errors:
        try:
            from starlette.concurrency import run_in_threadpool

            user, token = await run_in_threadpool(login, request, form["username"], form["password"])
        except ServiceError as exc:
            errors["password"] = T[lang_of(request)]["wrong"] if exc.status_code == 401 else str(exc.detail)
    if errors:
        return render(request, "login.html", {"errors": errors, "form": {"username": form.get("username", "")}},
                      status=422)
    resp = RedirectResponse(home_for(Principal(user.id, user.username, user.role)), status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                    secure=request.app.state.settings.cookie_secure, max_age=request.app.state.settings.token_minutes * 60)
    return resp


@router.post("/logout")
def logout() -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


def _need(request: Request, *roles: str) -> Principal | Response:
    p = current(request)
    if p is None:
        return RedirectResponse("/login", status_code=303)
    if roles and p.role not in roles:
        return HTMLResponse(f"403: this page needs the role {' or '.join(roles)}; you are {p.role}", status_code=403)
    return p


async def _form_and_user(request: Request, *roles: str) -> tuple[dict[str, str], Principal] | Response:
    """A posted form (CSRF-checked first, so the session may be read) and its user."""
    try:
        form = await form_of(request)
    except ServiceError as exc:
        return HTMLResponse(str(exc.detail), status_code=403)
    p = _need(request, *roles)
    return p if isinstance(p, Response) else (form, p)


def _active_incidents(s) -> list[Incident]:
    return list(s.scalars(select(Incident).where(Incident.status == "active").order_by(Incident.id.desc())))


def commune_context(request: Request, p: Principal, code: str) -> dict[str, Any]:
    with session_scope(request.app.state.read_session) as s:
        incidents = _active_incidents(s)
        suggestions = []
        for i in incidents:
            plan = latest_plan(s, i.id)
            if plan:
                want: dict[str, dict[str, Any]] = {}
                for t in plan["transfers"]:
                    if t["to"] == code:
                        w = want.setdefault(t["resource"], {"incident_id": i.id, "resource": t["resource"], "quantity": 0, "to": set()})
                        w["quantity"] += t["quantity"]
                        w["to"].add(t["from"])
                suggestions += [{**w, "to": ", ".join(sorted(w["to"]))} for w in want.values()]
        ctx = {
            "user": p, "code": code, "node": request.app.state.graph.nodes[code],
            "inventory": inventory_of(s, code),
            "incoming": list_requests(s, p, commune=code, direction="incoming", status="open", incident_id=None),
            "outgoing": list_requests(s, p, commune=code, direction="outgoing", status=None, incident_id=None)[:30],
            "incidents": [{"id": i.id, "name": i.name} for i in incidents], "suggestions": suggestions,
        }
        # what this commune offered to others and has still to hand over (dispatch once accepted)
        ctx["my_offers"] = [o | {"resource": r["resource"], "to": r["commune"], "request_id": r["id"]}
                            for r in list_requests(s, p, commune=code, direction="incoming", status=None, incident_id=None)
                            for o in r["offers"] if o["commune"] == code and o["status"] in ("offered", "accepted", "dispatched")]
    ctx["on_way"] = [o | {"resource": r["resource"]} for r in ctx["outgoing"] for o in r["offers"] if o["status"] == "dispatched"]
    return ctx


@router.get("/commune", response_class=HTMLResponse)
def commune_home(request: Request, code: str | None = None) -> Response:
    p = _need(request, "commune_leader", "defence_command", "admin")
    if isinstance(p, Response):
        return p
    code = code or p.commune
    if not code or code not in request.app.state.graph or not (p.role == "admin" or p.in_area(code)):
        return HTMLResponse("404: choose a commune of your area (?code=)", status_code=404)
    ctx = commune_context(request, p, code)
    form: dict[str, str] = {}
    pick = request.query_params.get("suggest", "")
    if pick.isdigit() and int(pick) < len(ctx["suggestions"]):  # the request form, filled from the plan
        sg = ctx["suggestions"][int(pick)]
        form = {"incident_id": str(sg["incident_id"]), "resource": sg["resource"], "quantity": str(sg["quantity"]),
                "to": sg["to"]}
    return render(request, "commune.html", {**ctx, "errors": {}, "form": form, "notice": None})


async def _commune_action(request: Request, action) -> Response:
    """Run a commune-page form action; on an error re-render with it next to the field."""
    checked = await _form_and_user(request, "commune_leader", "defence_command", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    code = form.get("code") or p.commune or ""
    errors: dict[str, str] = {}
    try:
        with session_scope(request.app.state.write_session) as s:
            notice = action(s, p, form, code, errors)
            if errors:
                raise _FormErrors()
    except _FormErrors:
        notice = None
    except (ServiceError, LienXaError) as exc:
        detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
        msg = str(detail.get("message", detail)) if isinstance(detail, dict) else str(detail)
        field = msg.split(":", 1)[0] if ":" in msg and msg.split(":", 1)[0] in form else "form"
        errors[field] = msg
    if errors:
        return render(request, "commune.html", {**commune_context(request, p, code), "errors": errors, "form": form,
                                                "notice": None}, status=422)
    return RedirectResponse(f"/commune?code={code}&done={notice or ''}", status_code=303)


class _FormErrors(Exception):
    pass


def _int_field(form: dict[str, str], name: str, errors: dict[str, str], *, positive: bool = True) -> int | None:
    raw = form.get(name, "").strip().replace(".", "")
    if not raw.isdigit() or (positive and int(raw) == 0):
        errors[name] = "phải là số nguyên dương / a positive whole number" if positive else "số nguyên ≥ 0 / a whole number ≥ 0"
        return None
    return int(raw)


@router.post("/commune/inventory")
async def post_inventory(request: Request) -> Response:
    def act(s, p, form, code, errors):
        items = {}
        for key in load_catalogue():
            if f"inv_{key}" in form and form[f"inv_{key}"].strip() != "":
                q = _int_field(form, f"inv_{key}", errors, positive=False)
                if q is not None:
                    items[key] = q
        if not errors:
            set_inventory(s, p, code, items)
        return "inventory"

    return await _commune_action(request, act)


@router.post("/commune/requests")
async def post_request(request: Request) -> Response:
    def act(s, p, form, code, errors):
        q = _int_field(form, "quantity", errors)
        if not form.get("incident_id", "").isdigit():
            errors["incident_id"] = T[lang_of(request)]["required"]
        if form.get("resource") not in load_catalogue():
            errors["resource"] = T[lang_of(request)]["required"]
        to = [c.strip() for c in form.get("to", "").replace(";", ",").split(",") if c.strip()]
        bad = [c for c in to if c not in request.app.state.graph]
        if bad:
            errors["to"] = f"mã xã không tồn tại / unknown commune: {', '.join(bad)}"
        if errors:
            return None
        G = request.app.state.graph
        create_request(s, p, incident_id=int(form["incident_id"]), commune=code, resource=form["resource"],
                       quantity=q, to=to or None, urgency=form.get("urgency") or "normal", note=form.get("note") or None,
                       known=set(G), neighbours=sorted(n for n in G[code] if G.edges[code, n].get("kind") != "point_touch"))
        return "request"

    return await _commune_action(request, act)


@router.post("/commune/requests/{request_id}/offer")
async def post_offer(request: Request, request_id: int) -> Response:
    def act(s, p, form, code, errors):
        q = _int_field(form, f"offer_{request_id}", errors)
        if q is not None:
            create_offer(s, p, request_id, commune=code, quantity=q, note=form.get("note") or None)
        return "offer"

    return await _commune_action(request, act)


@router.post("/commune/requests/{request_id}/decline")
async def post_decline(request: Request, request_id: int) -> Response:
    return await _commune_action(request, lambda s, p, form, code, errors: (
        decline_request(s, p, request_id, code, form.get("reason") or None), "declined")[1])


@router.post("/commune/offers/{offer_id}/{action}")
async def post_offer_action(request: Request, offer_id: int, action: str) -> Response:
    return await _commune_action(request, lambda s, p, form, code, errors: (
        transition_offer(s, p, offer_id, action, form.get("reason") or ("huỷ trên trang" if action == "cancel" else None)),
        action)[1])


def feed(request: Request, p: Principal) -> dict[str, Any]:
    """The defence command's live list: open requests, offers in progress, unmet needs."""
    with session_scope(request.app.state.read_session) as s:
        incidents = _active_incidents(s)
        reqs = list_requests(s, p, commune=None, direction=None, status="open", incident_id=None)
        unmet: list[dict[str, Any]] = []
        # per body, per resource: quantities of different resources are never added together
        escalations: dict[str, dict[str, int]] = {}
        for i in incidents:
            plan = latest_plan(s, i.id)
            for u in (plan or {}).get("unmet", []):
                unmet.append({**u, "incident_id": i.id})
                by_resource = escalations.setdefault(u["escalate_to"], {})
                by_resource[u["resource"]] = by_resource.get(u["resource"], 0) + u["quantity"]
    G = request.app.state.graph
    name = lambda c: G.nodes[c].get("full_name", c) if c in G else c
    return {
        "incidents": [{"id": i.id, "name": i.name, "risk_level": i.risk_level} for i in incidents],
        "requests": [{"id": r["id"], "commune": name(r["commune"]), "resource": r["resource"], "quantity": r["quantity"],
                      "remaining": r["remaining"], "urgency": r["urgency"],
                      "offers": [{"from": name(o["commune"]), "quantity": o["quantity"], "status": o["status"]}
                                 for o in r["offers"]]} for r in reqs],
        "unmet": [{"commune": name(u["commune"]), "resource": u["resource"], "quantity": u["quantity"],
                   "escalate_to": u["escalate_to"]} for u in unmet[:200]],
        "escalations": escalations,
        "at": vn_date(dt.datetime.now(dt.UTC)),
    }


@router.get("/command", response_class=HTMLResponse)
def command_home(request: Request, incident: int | None = None) -> Response:
    p = _need(request, "defence_command", "admin")
    if isinstance(p, Response):
        return p
    data = feed(request, p)
    chosen = incident or (data["incidents"][0]["id"] if data["incidents"] else None)
    return render(request, "command.html", {"user": p, "feed": data, "incident_id": chosen})


@router.get("/command/feed")
def command_feed(request: Request) -> Response:
    p = _need(request, "defence_command", "admin")
    if isinstance(p, Response):
        return JSONResponse({"detail": "not authenticated"}, status_code=401)
    from fastapi.encoders import jsonable_encoder

    return JSONResponse(jsonable_encoder(feed(request, p)), headers={"Cache-Control": "no-store"})


def planner_context(request: Request) -> dict[str, Any]:
    with session_scope(request.app.state.read_session) as s:
        return {"rules": [version_dict(v) for v, _ in current_rules(s)]}


@router.get("/planner", response_class=HTMLResponse)
def planner_home(request: Request) -> Response:
    p = _need(request, "planner", "admin")
    if isinstance(p, Response):
        return p
    ctx = planner_context(request)
    form: dict[str, Any] = {}
    edit = request.query_params.get("edit", "")
    chosen = next((v for v in ctx["rules"] if str(v["id"]) == edit), None)
    if chosen:  # the form, filled with the rule to edit
        form = {"rule_id": str(chosen["id"]), **{k: _field_text(v) for k, v in chosen["rule"].items()
                                               if k in ("type", "a", "b", "document", "travel_minutes",
                                                        "valid_from", "valid_to")}}
    return render(request, "planner.html", {"user": p, **ctx, "errors": {}, "form": form})


def _field_text(value: Any) -> str:
    """A stored rule value as typed into the form: ``45`` not ``45.0``, ``12,5`` for a fraction."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value).replace(".", ",")
    return str(value)


@router.post("/planner/rules")
async def planner_post(request: Request) -> Response:
    checked = await _form_and_user(request, "planner", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    errors: dict[str, str] = {}
    for f in ("type", "a", "b", "reason"):
        if not form.get(f, "").strip():
            errors[f] = T[lang_of(request)]["required"]
    rule: dict[str, Any] = {k: form[k].strip() for k in ("type", "a", "b", "document", "valid_from", "valid_to", "via")
                            if form.get(k, "").strip()}
    if form.get("travel_minutes", "").strip():
        try:
            rule["travel_minutes"] = float(form["travel_minutes"].replace(",", "."))
        except ValueError:
            errors["travel_minutes"] = "phải là số / a number"
    if not errors:
        try:
            with session_scope(request.app.state.write_session) as s:
                if form.get("rule_id", "").isdigit():
                    update_rule(s, p, int(form["rule_id"]), rule, form["reason"], set(request.app.state.graph))
                else:
                    create_rule(s, p, rule, form["reason"], set(request.app.state.graph))
        except (ServiceError, LienXaError) as exc:
            detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
            msg = str(detail.get("message", detail)) if isinstance(detail, dict) else str(detail)
            errors[_rule_error_field(msg, form)] = msg
    if errors:
        return render(request, "planner.html", {"user": p, **planner_context(request), "errors": errors, "form": form},
                      status=422)
    return RedirectResponse("/planner?done=rule", status_code=303)


RULE_FIELDS = ("type", "a", "b", "document", "travel_minutes", "valid_from", "valid_to", "reason")


def _rule_error_field(msg: str, form: dict[str, str]) -> str:
    """The rule form's field an error message is about ("rule 4: valid_to ... " → ``valid_to``;
    "unknown commune '99999'" → the field holding 99999), else ``form`` (shown above the form)."""
    head, _, rest = msg.partition(": ")
    if head in RULE_FIELDS:  # "reason: ..."
        return head
    first = re.match(r"\w+", rest)
    if first and first.group(0) in RULE_FIELDS:
        return first.group(0)
    quoted = re.search(r"'([^']*)'", rest)
    if "unknown commune" in rest and quoted:
        return next((f for f in ("a", "b") if form.get(f, "").strip() == quoted.group(1)), "form")
    return "form"


@router.post("/planner/rules/{rule_id}/retire")
async def planner_retire(request: Request, rule_id: int) -> Response:
    checked = await _form_and_user(request, "planner", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    error = None if form.get("reason", "").strip() else T[lang_of(request)]["required"]
    if error is None:
        try:
            with session_scope(request.app.state.write_session) as s:
                retire_rule(s, p, rule_id, form["reason"])
        except ServiceError as exc:
            error = str(exc.detail.get("message", exc.detail) if isinstance(exc.detail, dict) else exc.detail)
    if error:  # the rule form keeps nothing of this one; the retire reason stays in its row
        return render(request, "planner.html", {"user": p, **planner_context(request),
                                                "errors": {f"retire_{rule_id}": error}, "form": {},
                                                "retire": {rule_id: form.get("reason", "")}}, status=422)
    return RedirectResponse("/planner?done=retired", status_code=303)

