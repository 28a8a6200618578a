"""Server-rendered pages (Vietnamese first, English switch): login, a commune leader's home,
the defence command's view, the planner's rules page. Forms post here, are CSRF-checked (login
too, against a pre-login cookie), validated with errors next to each field, and keep what was
typed on an error. Each rendered form carries a one-time token that is the ``Idempotency-Key`` of
its action (the API's store, :class:`api.deps.Writer`), so a form sent twice acts once. A page
the user may not see is a small 401/403/404 page in the page language."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.auth import SESSION_COOKIE, Principal, authenticate
from api.db import session_scope
from api.deps import Writer, request_fingerprint
from api.errors import ServiceError
from api.models import Incident, Offer, SupportRequest, as_utc
from api.services.incidents import latest_plan, plan_wants
from api.services.rules import create_rule, current_rules, retire_rule, update_rule, version_dict
from api.services.workflow import (
    create_offer,
    create_request,
    decline_request,
    import_inventory,
    inventory_of,
    list_requests,
    may_read_offer,
    parse_inventory_csv,
    set_inventory,
    transition_offer,
)
from geo.errors import LienXaError
from geo.resources import PILLARS, load_catalogue
from maps.builders import STATUS_LABELS, UNITS_EN, amount, number, per_resource, vn_day, vn_number

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
VN_TZ = dt.timezone(dt.timedelta(hours=7))

T = {
    "vi": {
        "app": "Liên Xã",
        "login": "Đăng nhập",
        "logout": "Đăng xuất",
        "username": "Tên đăng nhập",
        "password": "Mật khẩu",
        "wrong": "Sai tên đăng nhập hoặc mật khẩu",
        "required": "Bắt buộc",
        "inventory": "Nguồn lực tại chỗ (4 tại chỗ)",
        "save": "Lưu",
        "saved": "Đã lưu",
        "request": "Yêu cầu hỗ trợ",
        "incident": "Sự cố",
        "resource": "Nguồn lực",
        "quantity": "Số lượng",
        "to": "Gửi đến (mã xã, cách nhau bởi dấu phẩy)",
        "urgency": "Mức khẩn",
        "note": "Ghi chú",
        "send": "Gửi yêu cầu",
        "incoming": "Yêu cầu đến",
        "outgoing": "Yêu cầu đi",
        "offer": "Đề nghị hỗ trợ",
        "decline": "Từ chối",
        "accept": "Chấp nhận",
        "dispatch": "Xuất phát",
        "arrive": "Đã đến",
        "cancel": "Hủy",
        "on_way": "Đang trên đường",
        "none": "Không có",
        "status": "Trạng thái",
        "command": "Ban Chỉ huy",
        "overview": "Toàn cảnh",
        "live": "Theo dõi trực tiếp",
        "unmet": "Chưa đáp ứng",
        "escalations": "Chuyển lên cấp trên",
        "escalate_to": "Chuyển đến",
        "open_requests": "Yêu cầu hỗ trợ đang mở",
        "planner": "Quy tắc liên kết",
        "rules": "Quy tắc hiện hành",
        "add_rule": "Thêm quy tắc",
        "type": "Loại",
        "reason": "Lý do",
        "retire": "Bãi bỏ",
        "edit": "Sửa",
        "document": "Văn bản",
        "valid_from": "Hiệu lực từ",
        "valid_to": "đến",
        "minutes": "Thời gian (phút)",
        "suggested": "Gợi ý theo kế hoạch",
        "sample": "DỮ LIỆU MẪU – không phải số liệu khảo sát",
        "offers": "Đề nghị",
        "from": "từ",
        "updated": "Cập nhật",
        "map": "Bản đồ",
        "print": "In",
        "forces": "Lực lượng",
        "means": "Phương tiện",
        "materials": "Vật tư",
        "logistics": "Hậu cần",
        "available": "sẵn có",
        "reserved": "đã hứa",
        "commune_a": "Xã A",
        "commune_b": "Xã B",
        "commune": "Xã",
        "remaining": "còn thiếu",
        "my_offers": "Đề nghị của xã đã gửi",
        "in_progress": "Chi viện đang thực hiện (đã chấp nhận, đang vận chuyển)",
        "giver": "Xã hỗ trợ",
        "receiver": "Xã nhận",
        "sending": "Đang gửi…",
        "or": "hoặc",
        "home": "Về trang của tôi",
        "login_other": "Đăng nhập bằng tài khoản khác",
        "e401_title": "Cần đăng nhập lại",
        "e401": "Phiên đăng nhập đã hết hoặc bạn chưa đăng nhập. Những gì vừa gửi chưa được lưu: "
        "đăng nhập rồi gửi lại.",
        "e403_title": "Trang này không dành cho vai trò của bạn",
        "e403_role": "Trang này dành cho {roles}. Bạn đang đăng nhập là {user} ({role}).",
        "e403_csrf_title": "Biểu mẫu đã cũ",
        "e403_csrf": "Biểu mẫu không được gửi từ trang Liên Xã hoặc trang đã cũ, nên không có gì được thực hiện. "
        "Tải lại trang rồi gửi lại.",
        "login_csrf": "Biểu mẫu đăng nhập đã cũ hoặc không được gửi từ trang này. Hãy nhập lại rồi đăng nhập.",
        "e404_page_title": "Không có trang này",
        "e404_page": "Địa chỉ {path} không có trên Liên Xã. Kiểm tra lại đường dẫn hoặc quay về trang của bạn.",
        "e404_title": "Không tìm thấy xã",
        "e404_unknown": "Không có xã nào mã {code}.",
        "e404_leader": "Tài khoản của bạn làm việc cho {name} ({code}).",
        "e404_area": "Chọn một xã trong địa bàn của bạn ({area}):",
        "e404_none": "Tài khoản của bạn chưa gắn với xã nào; hãy hỏi quản trị viên.",
        "e404_admin": "Thêm mã xã (5 chữ số) vào địa chỉ, ví dụ /commune?code=17254.",
        "province": "tỉnh",
        "inv_upload": "Nhập số liệu khảo sát nguồn lực (tệp CSV)",
        "inv_help": "Tệp CSV (UTF-8), mỗi dòng một xã và một nguồn lực, dòng đầu là commune,resource,quantity. "
        "Tệp có lỗi thì không nhập dòng nào.",
        "inv_file": "Tệp CSV",
        "inv_send": "Nhập tệp",
        "inv_choose": "Chọn một tệp CSV để nhập.",
        "inv_done": "Đã nhập {communes} xã, {rows} dòng: {changed} giá trị thay đổi, {communes_changed} xã được cập nhật "
        "(không còn là dữ liệu mẫu).",
        "inv_replayed": "Tệp này đã được nhập từ lần gửi trước; không nhập lại lần nữa.",
        "inv_bad": "Tệp có {n} lỗi, chưa nhập dòng nào:",
        "inv_more": "… và {n} lỗi nữa.",
        "inv_outside": "Các xã sau ngoài địa bàn của bạn, chưa nhập dòng nào: {communes}.",
        "inv_reserved": "Số lượng thấp hơn số đã hứa trong các đề nghị hỗ trợ đang mở, chưa nhập dòng nào:",
        "inv_reserved_row": "{commune}, {resource}: {quantity} < {reserved} đã hứa",
        "inv_line": "dòng {n}: {problems}",
        "inv_errors": [  # the import's English messages (geo.resources), said in Vietnamese
            (
                r"^file line (\d+): header must be commune,resource,quantity, got (.*)$",
                "dòng {0}: dòng tiêu đề phải là commune,resource,quantity, nhận được {1}",
            ),
            (
                r"^file: empty inventory.*$",
                "tệp trống (cần dòng tiêu đề commune,resource,quantity)",
            ),
            (r"^file: not UTF-8 text \(byte (\d+)\)$", "tệp không phải văn bản UTF-8 (byte {0})"),
            (r"^unknown commune (.*)$", "không có xã mã {0}"),
            (r"^unknown resource (.*)$", "không có nguồn lực {0} trong danh mục"),
            (
                r"^quantity must be a non-negative integer, got (.*)$",
                "số lượng phải là số nguyên không âm, nhận được {0}",
            ),
            (
                r"^quantity (\d+) is over the largest storable, (\d+)$",
                "số lượng {0} vượt quá mức lớn nhất lưu được ({1})",
            ),
            (
                r"^duplicate row for (\S+)/(\S+) \(first on line (\d+)\)$",
                "trùng dòng {0}/{1} (lần đầu ở dòng {2})",
            ),
            (r"^expected 3 fields, got (\d+)$", "cần 3 cột, có {0}"),
        ],
        "already_sent": "Biểu mẫu này đã được gửi trước đó với nội dung khác, nên lần này không có gì được "
        "thực hiện. Trang đã được tải lại: xem lại danh sách rồi gửi lại nếu cần.",
        "queue": {
            "waiting_one": "Mất kết nối: 1 biểu mẫu đang chờ gửi, sẽ tự gửi khi có mạng",
            "waiting_many": "Mất kết nối: {n} biểu mẫu đang chờ gửi, sẽ tự gửi khi có mạng",
            "flushing": "Đã có mạng: đang gửi {n} biểu mẫu đang chờ…",
            "send_now": "Gửi ngay",
            "saved_at": "lưu lúc",
            "refused": "Máy chủ không nhận các biểu mẫu đang chờ sau, nên chúng "
            "đã bị bỏ khỏi hàng chờ (không gửi lại). Nhập lại nếu vẫn cần:",
            "dismiss": "Đã hiểu",
        },
        "urgencies": {
            "low": "thấp",
            "normal": "bình thường",
            "high": "cao",
            "critical": "khẩn cấp",
        },
        "roles": {
            "commune_leader": "lãnh đạo xã",
            "defence_command": "Ban Chỉ huy phòng thủ dân sự (khu vực, tỉnh)",
            "planner": "cán bộ quy hoạch",
            "admin": "quản trị",
        },
        "rule_types": {
            "agreement": "thỏa thuận phối hợp",
            "add_link": "thêm liên kết",
            "close_link": "đóng liên kết",
            "travel_minutes": "thời gian di chuyển",
        },
    },
    "en": {
        "app": "Liên Xã",
        "login": "Log in",
        "logout": "Log out",
        "username": "Username",
        "password": "Password",
        "wrong": "Wrong username or password",
        "required": "Required",
        "inventory": "On-site resources (4 on-site)",
        "save": "Save",
        "saved": "Saved",
        "request": "Request support",
        "incident": "Incident",
        "resource": "Resource",
        "quantity": "Quantity",
        "to": "To (commune codes, comma separated)",
        "urgency": "Urgency",
        "note": "Note",
        "send": "Send request",
        "incoming": "Incoming requests",
        "outgoing": "Outgoing requests",
        "offer": "Offer",
        "decline": "Decline",
        "accept": "Accept",
        "dispatch": "Dispatch",
        "arrive": "Arrived",
        "cancel": "Cancel",
        "on_way": "On its way",
        "none": "None",
        "status": "Status",
        "command": "Defence command",
        "overview": "Overview",
        "live": "Live",
        "unmet": "Unmet",
        "escalations": "Escalations",
        "escalate_to": "Escalated to",
        "open_requests": "Open support requests",
        "planner": "Adjacency rules",
        "rules": "Rules in force",
        "add_rule": "Add a rule",
        "type": "Type",
        "reason": "Reason",
        "retire": "Retire",
        "edit": "Edit",
        "document": "Document",
        "valid_from": "Valid from",
        "valid_to": "to",
        "minutes": "Travel minutes",
        "suggested": "Suggested by the plan",
        "sample": "SAMPLE DATA – not a survey",
        "offers": "Offers",
        "from": "from",
        "updated": "Updated",
        "map": "Map",
        "print": "Print",
        "forces": "Forces",
        "means": "Means",
        "materials": "Materials",
        "logistics": "Logistics",
        "available": "available",
        "reserved": "promised",
        "commune_a": "Commune A",
        "commune_b": "Commune B",
        "commune": "Commune",
        "remaining": "still needed",
        "my_offers": "Our offers",
        "in_progress": "Aid in progress (accepted, on its way)",
        "giver": "From commune",
        "receiver": "To commune",
        "sending": "Sending…",
        "or": "or",
        "home": "Back to my page",
        "login_other": "Log in as another user",
        "e401_title": "Please log in again",
        "e401": "Your session has ended or you are not logged in. What you just sent was not saved: "
        "log in and send it again.",
        "e403_title": "This page is not for your role",
        "e403_role": "This page is for {roles}. You are logged in as {user} ({role}).",
        "e403_csrf_title": "This form is out of date",
        "e403_csrf": "The form did not come from a Liên Xã page, or the page is old, so nothing was done. "
        "Reload the page and send it again.",
        "login_csrf": "The login form is old or did not come from this site. Type your details again and log in.",
        "e404_page_title": "No such page",
        "e404_page": "The address {path} does not exist on Liên Xã. Check the link or go back to your page.",
        "e404_title": "Commune not found",
        "e404_unknown": "There is no commune with code {code}.",
        "e404_leader": "Your account works for {name} ({code}).",
        "e404_area": "Choose a commune of your area ({area}):",
        "e404_none": "Your account is bound to no commune; ask the administrator.",
        "e404_admin": "Add a commune's 5-digit code to the address, e.g. /commune?code=17254.",
        "province": "province",
        "inv_upload": "Import an inventory survey (CSV file)",
        "inv_help": "A CSV file (UTF-8), one row per commune and resource, with the header commune,resource,quantity. "
        "Nothing is imported from a file with errors.",
        "inv_file": "CSV file",
        "inv_send": "Import file",
        "inv_choose": "Choose a CSV file to import.",
        "inv_done": "Imported {communes} communes, {rows} rows: {changed} values changed, {communes_changed} communes "
        "updated (no longer sample data).",
        "inv_replayed": "This file was already imported by an earlier send; it was not imported again.",
        "inv_bad": "The file has {n} error(s); nothing was imported:",
        "inv_more": "… and {n} more.",
        "inv_outside": "These communes are outside your area; nothing was imported: {communes}.",
        "inv_reserved": "Quantities below what open support offers have promised; nothing was imported:",
        "inv_reserved_row": "{commune}, {resource}: {quantity} < {reserved} promised",
        "inv_line": "line {n}: {problems}",
        "inv_errors": [],
        "already_sent": "This form was already sent with other content, so nothing was done this time. "
        "The page has been reloaded: check the lists and send again if needed.",
        "queue": {
            "waiting_one": "No connection: 1 form is waiting to be sent; it will be sent automatically "
            "when the connection is back",
            "waiting_many": "No connection: {n} forms are waiting to be sent; they will be sent "
            "automatically when the connection is back",
            "flushing": "Connection is back: sending {n} waiting form(s)…",
            "send_now": "Send now",
            "saved_at": "saved at",
            "refused": "The server refused these waiting forms, so they were "
            "removed from the queue (not sent again). Type them again if still needed:",
            "dismiss": "OK",
        },
        "urgencies": {"low": "low", "normal": "normal", "high": "high", "critical": "critical"},
        "roles": {
            "commune_leader": "commune leader",
            "defence_command": "defence command",
            "planner": "planner",
            "admin": "admin",
        },
        "rule_types": {
            "agreement": "coordination agreement",
            "add_link": "add a link",
            "close_link": "close a link",
            "travel_minutes": "travel time",
        },
    },
}


def vn_date(value: dt.datetime | None) -> str:
    """``dd/mm/yyyy HH:MM`` in Vietnam time."""
    if value is None:
        return ""
    return as_utc(value).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


templates.env.filters["vn_number"] = vn_number
# a number as the page's reader writes it: 1.556 on a Vietnamese page, 1,556 on an English one
templates.env.filters["num"] = pass_context(lambda ctx, x: number(x, ctx.get("lang", "vi")))
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
    units = {
        k: r.unit if lang == "vi" else UNITS_EN.get(r.unit, r.unit) for k, r in catalogue.items()
    }
    G = request.app.state.graph
    base = {
        "units": units,
        # a commune as its leader knows it (Xã Châu Khê), not its five-digit code
        "commune_name": lambda c: G.nodes[c].get("full_name", c) if c in G else c,
        "amount": lambda q, res: amount(q, catalogue[res].unit if res in catalogue else "", lang),
        "per_resource": lambda items: per_resource(
            items, labels, {k: r.unit for k, r in catalogue.items()}, lang
        ),
        "request": request,
        "t": T[lang],
        "lang": lang,
        "csrf": csrf,
        "catalogue": catalogue,
        "labels": labels,
        "pillars": PILLARS,
        "statuses": STATUS_LABELS[lang],
        "once": form_once,
        "status_label": lambda s: STATUS_LABELS[lang].get(s, s),
    }
    return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)


def form_once() -> str:
    """A fresh one-time token for one rendered form (its hidden ``idempotency_key`` field)."""
    return secrets.token_urlsafe(18)


def error_page(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    user: Principal | None = None,
    choices: list[tuple[str, str]] | None = None,
) -> HTMLResponse:
    """A small page for 401/403/404 in the page language: what is wrong, what is needed, and
    links home and to the login page; ``choices`` are links to what the user may open instead."""
    return render(
        request,
        "error.html",
        {
            "user": user,
            "status": status,
            "title": title,
            "message": message,
            "choices": choices or [],
        },
        status=status,
    )


def _role_names(request: Request, roles: tuple[str, ...]) -> str:
    t = T[lang_of(request)]
    return f" {t['or']} ".join(t["roles"].get(r, r) for r in roles)


def forbidden_page(request: Request, p: Principal, roles: tuple[str, ...]) -> HTMLResponse:
    t = T[lang_of(request)]
    return error_page(
        request,
        403,
        t["e403_title"],
        t["e403_role"].format(
            roles=_role_names(request, roles), user=p.username, role=t["roles"].get(p.role, p.role)
        ),
        user=p,
    )


def csrf_page(request: Request, p: Principal | None = None) -> HTMLResponse:
    t = T[lang_of(request)]
    return error_page(request, 403, t["e403_csrf_title"], t["e403_csrf"], user=p)


def page_not_found(request: Request) -> HTMLResponse:
    """404 for an address that is no page, when a browser asks for it (the API keeps its JSON)."""
    t = T[lang_of(request)]
    return error_page(
        request, 404, t["e404_page_title"], t["e404_page"].format(path=request.url.path)
    )


def login_needed_page(request: Request) -> HTMLResponse:
    t = T[lang_of(request)]
    return error_page(request, 401, t["e401_title"], t["e401"])


def commune_missing_page(request: Request, p: Principal, code: str | None) -> HTMLResponse:
    """404 for a commune the user may not open or that does not exist, naming what they may open."""
    t = T[lang_of(request)]
    G = request.app.state.graph
    name = lambda c: G.nodes[c].get("full_name", c)
    if code and code not in G:
        message, choices = t["e404_unknown"].format(code=code), []
    elif p.role == "commune_leader" and p.commune in G:
        message = t["e404_leader"].format(name=name(p.commune), code=p.commune)
        choices = [("/commune", f"{name(p.commune)} ({p.commune})")]
    elif p.role == "admin":
        message, choices = t["e404_admin"], []
    else:
        message, choices = t["e404_none"], []
    if p.role == "defence_command" and p.area:
        province = (
            next((G.nodes[c].get("province_name") for c in p.area if c in G), None) or p.province
        )
        where = p.region or f"{t['province']} {province}"
        message = (message + " " if code and code not in G else "") + t["e404_area"].format(
            area=where
        )
        choices = [
            (f"/commune?code={c}", f"{name(c)} ({c})") for c in sorted(p.area, key=name) if c in G
        ]
    return error_page(request, 404, t["e404_title"], message, user=p, choices=choices)


def current(request: Request) -> Principal | None:
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        with session_scope(request.app.state.read_session) as s:
            return authenticate(request, s)
    except ServiceError:
        return None


def same_token(sent: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (refused, not a 500)."""
    return hmac.compare_digest(sent.encode(), expected.encode())


async def form_of(request: Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    token = request.cookies.get(SESSION_COOKIE, "")
    expected = request.app.state.tokens.csrf_for(token) if token else ""
    if not token or not same_token(form.get("csrf_token", ""), expected):
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


LOGIN_COOKIE = "lienxa_login"


def _login_csrf(request: Request, nonce: str) -> str:
    """The login form's CSRF token: the same HMAC as the session forms' (``Tokens.csrf_for``),
    over a random pre-login cookie instead of the session, which does not exist yet."""
    return request.app.state.tokens.csrf_for("login:" + nonce)


def _login_nonce(request: Request) -> str | None:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    return nonce if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", nonce) else None


def login_form(request: Request, ctx: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """The login page, with its CSRF token and the pre-login cookie it is checked against."""
    nonce = _login_nonce(request) or secrets.token_urlsafe(18)
    resp = render(
        request, "login.html", {**ctx, "csrf": _login_csrf(request, nonce)}, status=status
    )
    resp.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        max_age=86400,
    )
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return login_form(request, {"errors": {}, "form": {}})


@router.post("/login")
async def login_post(request: Request) -> Response:
    from api.routes.auth import login

    form = {k: str(v) for k, v in (await request.form()).items()}
    nonce = _login_nonce(request)
    if nonce is None or not same_token(form.get("csrf_token", ""), _login_csrf(request, nonce)):
        # a cross-site post (or a login page older than its cookie): refused, nothing checked
        return login_form(
            request,
            {
                "errors": {"form": T[lang_of(request)]["login_csrf"]},
                "form": {"username": form.get("username", "")},
            },
            status=403,
        )
    errors = {
        f: T[lang_of(request)]["required"] for f in ("username", "password") if not form.get(f)
    }
    if not errors:
        try:
            user, token = await run_in_threadpool(
                login, request, form["username"], form["password"]
            )
        except ServiceError as exc:
            errors["password"] = (
                T[lang_of(request)]["wrong"] if exc.status_code == 401 else str(exc.detail)
            )
    if errors:
        return login_form(
            request, {"errors": errors, "form": {"username": form.get("username", "")}}, status=422
        )
    resp = RedirectResponse(home_for(Principal(user.id, user.username, user.role)), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        max_age=request.app.state.settings.token_minutes * 60,
    )
    resp.delete_cookie(LOGIN_COOKIE)
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session; the form's CSRF token is required, so another site cannot log a user out.
    Without a session cookie there is nothing to end: back to the login page, nothing changed."""
    if request.cookies.get(SESSION_COOKIE):
        try:
            await form_of(request)
        except ServiceError:
            return csrf_page(request, current(request))
    resp = RedirectResponse("/login", status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        resp.delete_cookie(SESSION_COOKIE)
    return resp


def _need(request: Request, *roles: str, posted: bool = False) -> Principal | Response:
    """The logged-in user if their role is one of ``roles``; else the login page (a page asked
    for) or a 401 page (a form sent after the session ended), or a 403 page naming the roles."""
    p = current(request)
    if p is None:
        return login_needed_page(request) if posted else RedirectResponse("/login", status_code=303)
    if roles and p.role not in roles:
        return forbidden_page(request, p, roles)
    return p


async def _form_and_user(
    request: Request, *roles: str
) -> tuple[dict[str, str], Principal] | Response:
    """A posted form (CSRF-checked first, so the session may be read) and its user."""
    if not request.cookies.get(SESSION_COOKIE):
        return login_needed_page(request)
    try:
        form = await form_of(request)
    except ServiceError:
        return csrf_page(request)
    p = _need(request, *roles, posted=True)
    return p if isinstance(p, Response) else (form, p)


FORM_TYPE = "application/x-www-form-urlencoded"


class _AlreadySent(Exception):
    """The form's one-time token was already used for a different submission."""


def run_once(request: Request, p: Principal, form: dict[str, str], fn) -> bool:
    """Run ``fn(session)`` in one write transaction, once per rendered form: the form's hidden
    ``idempotency_key`` is the action's ``Idempotency-Key`` in the API's store, so a form sent
    twice (a double tap, a browser resending after a timeout) acts once. Returns whether this
    post repeated one already done (then nothing ran).

    Raises
    ------
    _AlreadySent
        The token was used for another submission (other content, or another action).
    ServiceError, LienXaError
        From ``fn``: nothing was stored, the same token may be sent again.
    """
    body = urlencode(sorted((k, v) for k, v in form.items() if k != "csrf_token")).encode()
    writer = Writer(
        request,
        p,
        request_fingerprint(request.method, request.url.path, request.url.query, FORM_TYPE, body),
    )
    token = form.get("idempotency_key", "")
    if 16 <= len(token) <= 64:  # the form's token, not a header: Writer reads headers only
        writer.key = "form:" + token
    running = False

    def run(s):
        nonlocal running
        running = True
        out = fn(s)
        running = False
        return out

    try:
        resp = writer.run(run)
    except ServiceError:
        if running:  # the action's own error
            raise
        raise _AlreadySent() from None
    return resp.headers.get("Idempotent-Replay") == "true"


def _error_message(exc: ServiceError | LienXaError) -> str:
    detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
    return str(detail.get("message", detail)) if isinstance(detail, dict) else str(detail)


def may_open(request: Request, p: Principal, code: str | None) -> bool:
    return bool(code) and code in request.app.state.graph and (p.role == "admin" or p.in_area(code))


def _active_incidents(s) -> list[Incident]:
    return list(
        s.scalars(select(Incident).where(Incident.status == "active").order_by(Incident.id.desc()))
    )


def commune_context(request: Request, p: Principal, code: str) -> dict[str, Any]:
    with session_scope(request.app.state.read_session) as s:
        incidents = _active_incidents(s)
        outgoing = list_requests(
            s, p, commune=code, direction="outgoing", status=None, incident_id=None
        )
        # what the commune already asked for (a request not cancelled), per incident and resource:
        # the plan's suggestion shows only the rest, so a request is not sent twice
        asked: dict[tuple[int, str], int] = {}
        for r in outgoing:
            if r["status"] != "cancelled":
                asked[(r["incident_id"], r["resource"])] = (
                    asked.get((r["incident_id"], r["resource"]), 0) + r["quantity"]
                )
        suggestions = []
        for i in incidents:
            plan = latest_plan(s, i.id)
            if plan:
                for (_, resource), w in plan_wants(plan, commune=code).items():
                    left = w["quantity"] - asked.get((i.id, resource), 0)
                    if left > 0:
                        suggestions.append(
                            {
                                "incident_id": i.id,
                                "resource": resource,
                                "quantity": left,
                                "to": ", ".join(sorted(w["to"])),
                            }
                        )
        ctx = {
            "user": p,
            "code": code,
            "node": request.app.state.graph.nodes[code],
            "inventory": inventory_of(s, code),
            "incoming": list_requests(
                s, p, commune=code, direction="incoming", status="open", incident_id=None
            ),
            "outgoing": outgoing[:30],
            "incidents": [{"id": i.id, "name": i.name} for i in incidents],
            "suggestions": suggestions,
        }
        # what this commune offered to others and has still to hand over (dispatch once accepted)
        ctx["my_offers"] = [
            o | {"resource": r["resource"], "to": r["commune"], "request_id": r["id"]}
            for r in list_requests(
                s, p, commune=code, direction="incoming", status=None, incident_id=None
            )
            for o in r["offers"]
            if o["commune"] == code and o["status"] in ("offered", "accepted", "dispatched")
        ]
    ctx["on_way"] = [
        o | {"resource": r["resource"]}
        for r in ctx["outgoing"]
        for o in r["offers"]
        if o["status"] == "dispatched"
    ]
    return ctx


@router.get("/commune", response_class=HTMLResponse)
def commune_home(request: Request, code: str | None = None) -> Response:
    p = _need(request, "commune_leader", "defence_command", "admin")
    if isinstance(p, Response):
        return p
    code = code or p.commune
    if not may_open(request, p, code):
        return commune_missing_page(request, p, code)
    ctx = commune_context(request, p, code)
    form: dict[str, str] = {}
    pick = request.query_params.get("suggest", "")
    if pick.isdigit() and int(pick) < len(
        ctx["suggestions"]
    ):  # the request form, filled from the plan
        sg = ctx["suggestions"][int(pick)]
        form = {
            "incident_id": str(sg["incident_id"]),
            "resource": sg["resource"],
            "quantity": str(sg["quantity"]),
            "to": sg["to"],
        }
    return render(request, "commune.html", {**ctx, "errors": {}, "form": form, "notice": None})


async def _commune_action(request: Request, notice: str, action) -> Response:
    """Run a commune-page form action once (see :func:`run_once`); on an error re-render the
    page with it next to the field. ``action(s, p, form, code, errors)`` returns the result of
    the service call, or fills ``errors`` (then nothing is written)."""
    checked = await _form_and_user(request, "commune_leader", "defence_command", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    code = form.get("code") or p.commune or ""
    if not may_open(request, p, code):
        return commune_missing_page(request, p, code)
    errors: dict[str, str] = {}

    def run(s):
        out = action(s, p, form, code, errors)
        if errors:
            raise _FormErrors()
        return out

    try:
        await run_in_threadpool(run_once, request, p, form, run)
    except _FormErrors:
        pass
    except _AlreadySent:
        errors["form"] = T[lang_of(request)]["already_sent"]
        form = {}
    except (ServiceError, LienXaError) as exc:
        msg = _error_message(exc)
        field = msg.split(":", 1)[0] if ":" in msg and msg.split(":", 1)[0] in form else "form"
        errors[field] = msg
    if errors:
        return render(
            request,
            "commune.html",
            {**commune_context(request, p, code), "errors": errors, "form": form, "notice": None},
            status=422,
        )
    return RedirectResponse(f"/commune?code={code}&done={notice}", status_code=303)


class _FormErrors(Exception):
    pass


def _int_field(
    form: dict[str, str], name: str, errors: dict[str, str], *, positive: bool = True
) -> int | None:
    raw = form.get(name, "").strip().replace(".", "")
    if not raw.isdigit() or (positive and int(raw) == 0):
        errors[name] = (
            "phải là số nguyên dương / a positive whole number"
            if positive
            else "số nguyên ≥ 0 / a whole number ≥ 0"
        )
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
        return None if errors else set_inventory(s, p, code, items)

    return await _commune_action(request, "inventory", act)


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
        return create_request(
            s,
            p,
            incident_id=int(form["incident_id"]),
            commune=code,
            resource=form["resource"],
            quantity=q,
            to=to or None,
            urgency=form.get("urgency") or "normal",
            note=form.get("note") or None,
            known=set(G),
            neighbours=sorted(n for n in G[code] if G.edges[code, n].get("kind") != "point_touch"),
        )

    return await _commune_action(request, "request", act)


@router.post("/commune/requests/{request_id}/offer")
async def post_offer(request: Request, request_id: int) -> Response:
    def act(s, p, form, code, errors):
        q = _int_field(form, f"offer_{request_id}", errors)
        return (
            None
            if q is None
            else create_offer(
                s, p, request_id, commune=code, quantity=q, note=form.get("note") or None
            )
        )

    return await _commune_action(request, "offer", act)


@router.post("/commune/requests/{request_id}/decline")
async def post_decline(request: Request, request_id: int) -> Response:
    return await _commune_action(
        request,
        "declined",
        lambda s, p, form, code, errors: decline_request(
            s, p, request_id, code, form.get("reason") or None
        ),
    )


@router.post("/commune/offers/{offer_id}/{action}")
async def post_offer_action(request: Request, offer_id: int, action: str) -> Response:
    return await _commune_action(
        request,
        action,
        lambda s, p, form, code, errors: transition_offer(
            s,
            p,
            offer_id,
            action,
            form.get("reason") or ("huỷ trên trang" if action == "cancel" else None),
        ),
    )


IN_PROGRESS = ("accepted", "dispatched")


def offers_in_progress(s, p: Principal, *, limit: int = 200) -> list[tuple[Offer, SupportRequest]]:
    """Offers accepted or dispatched (aid promised or on its way), newest change first, that
    touch the user's area: whatever their request's state (a cancelled request's dispatched
    offer is still on the road). One query, where ``list_requests`` would read every request."""
    rows = s.execute(
        select(Offer, SupportRequest)
        .join(SupportRequest, Offer.request_id == SupportRequest.id)
        .where(Offer.status.in_(IN_PROGRESS))
        .order_by(Offer.updated_at.desc(), Offer.id.desc())
    ).all()
    return [(o, r) for o, r in rows if may_read_offer(p, o, r)][:limit]


def feed(request: Request, p: Principal) -> dict[str, Any]:
    """The defence command's live list: open requests, offers in progress, unmet needs."""
    with session_scope(request.app.state.read_session) as s:
        incidents = _active_incidents(s)
        reqs = list_requests(s, p, commune=None, direction=None, status="open", incident_id=None)
        moving = [
            {
                "id": o.id,
                "request_id": r.id,
                "from": o.commune_code,
                "to": r.commune_code,
                "resource": r.resource,
                "quantity": o.quantity,
                "status": o.status,
                "updated": vn_date(o.updated_at),
            }
            for o, r in offers_in_progress(s, p)
        ]
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
        "requests": [
            {
                "id": r["id"],
                "commune": name(r["commune"]),
                "resource": r["resource"],
                "quantity": r["quantity"],
                "remaining": r["remaining"],
                "urgency": r["urgency"],
                "offers": [
                    {"from": name(o["commune"]), "quantity": o["quantity"], "status": o["status"]}
                    for o in r["offers"]
                ],
            }
            for r in reqs
        ],
        "in_progress": [{**o, "from": name(o["from"]), "to": name(o["to"])} for o in moving],
        "unmet": [
            {
                "commune": name(u["commune"]),
                "resource": u["resource"],
                "quantity": u["quantity"],
                "escalate_to": u["escalate_to"],
            }
            for u in unmet[:200]
        ],
        "escalations": escalations,
        "at": vn_date(dt.datetime.now(dt.UTC)),
    }


def command_context(request: Request, p: Principal, incident: int | None = None) -> dict[str, Any]:
    data = feed(request, p)
    chosen = incident or (data["incidents"][0]["id"] if data["incidents"] else None)
    return {"user": p, "feed": data, "incident_id": chosen, "upload": {}}


@router.get("/command", response_class=HTMLResponse)
def command_home(request: Request, incident: int | None = None) -> Response:
    p = _need(request, "defence_command", "admin")
    if isinstance(p, Response):
        return p
    return render(request, "command.html", command_context(request, p, incident))


def inventory_error_lines(errors: list[str], lang: str) -> list[str]:
    """The import's problems (English, each naming its line) in the page language."""
    t = T[lang]
    patterns = [(re.compile(rx), out) for rx, out in t["inv_errors"]]

    def say(text: str) -> str:
        for rx, out in patterns:
            m = rx.match(text)
            if m:
                return out.format(*m.groups())
        return text  # a message without a translation is shown as it is

    def line(text: str) -> str:
        m = re.match(r"line (\d+): (.*)$", text, re.DOTALL)
        if m is None:
            return say(text)
        return t["inv_line"].format(
            n=m.group(1), problems="; ".join(say(part) for part in m.group(2).split("; "))
        )

    return [line(e) for e in errors]


def inventory_upload_error(request: Request, exc: ServiceError) -> dict[str, Any]:
    """What the upload form shows for a refused file: a heading and the lines, in the page language."""
    lang = lang_of(request)
    t = T[lang]
    detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
    G = request.app.state.graph
    name = lambda c: f"{G.nodes[c].get('full_name', c)} ({c})" if c in G else c
    if "errors" in detail:
        n = len(detail["errors"]) + detail.get("more", 0)
        return {
            "heading": t["inv_bad"].format(n=n),
            "lines": inventory_error_lines(detail["errors"], lang),
            "more": t["inv_more"].format(n=detail["more"]) if detail.get("more") else "",
        }
    if "communes" in detail:
        shown = detail["communes"][:50]
        more = len(detail["communes"]) - len(shown)
        return {
            "heading": t["inv_outside"].format(communes=", ".join(name(c) for c in shown)),
            "lines": [],
            "more": t["inv_more"].format(n=more) if more > 0 else "",
        }
    if "conflicts" in detail:
        labels = {
            k: (r.label_vi if lang == "vi" else r.label_en) for k, r in load_catalogue().items()
        }
        lines = [
            t["inv_reserved_row"].format(
                commune=name(x["commune"]),
                resource=labels.get(x["resource"], x["resource"]),
                quantity=number(x["quantity"], lang),
                reserved=number(x["reserved"], lang),
            )
            for x in detail["conflicts"]
        ]
        return {
            "heading": t["inv_reserved"],
            "lines": lines,
            "more": t["inv_more"].format(n=detail["more"]) if detail.get("more") else "",
        }
    return {"heading": _error_message(exc), "lines": [], "more": ""}


@router.post("/command/inventory")
async def command_inventory(request: Request) -> Response:
    """The defence command's upload of an inventory survey (the API's ``POST /inventory/import``),
    with the result or the refused file's errors shown next to the form."""
    if request.cookies.get(SESSION_COOKIE) and request.headers.get("content-type", "").startswith(
        "multipart/"
    ):
        await request.form(max_files=1, max_fields=5)  # parsed (and kept) with an upload's limits
    checked = await _form_and_user(request, "defence_command", "admin")
    if isinstance(checked, Response):
        return checked
    fields, p = checked
    t = T[lang_of(request)]
    upload = (await request.form()).get("file")
    raw = await upload.read() if isinstance(upload, UploadFile) else b""
    # the one-time token stands for this file: another file sent with it is another submission
    form = {k: v for k, v in fields.items() if k != "file"} | {
        "file_sha256": hashlib.sha256(raw).hexdigest()
    }
    result: dict[str, Any] = {}
    if not raw:
        result["error"] = {"heading": t["inv_choose"], "lines": [], "more": ""}
    else:

        def save(s):
            out = import_inventory(s, p, inventory)
            result["done"] = out
            return out

        try:
            inventory = await run_in_threadpool(
                parse_inventory_csv, raw, communes=request.app.state.graph
            )
            if await run_in_threadpool(run_once, request, p, form, save):
                result["replayed"] = True
        except _AlreadySent:
            result["error"] = {"heading": t["already_sent"], "lines": [], "more": ""}
        except ServiceError as exc:
            result["error"] = inventory_upload_error(request, exc)
    ctx = command_context(request, p) | {"upload": result}
    return render(request, "command.html", ctx, status=422 if "error" in result else 200)


@router.get("/command/feed")
def command_feed(request: Request) -> Response:
    p = current(request)
    if p is None:
        return JSONResponse({"detail": "not authenticated: log in again"}, status_code=401)
    if p.role not in ("defence_command", "admin"):
        return JSONResponse(
            {"detail": f"the live list needs the role defence_command or admin; you are {p.role}"},
            status_code=403,
        )
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
        form = {
            "rule_id": str(chosen["id"]),
            **{
                k: _field_text(v)
                for k, v in chosen["rule"].items()
                if k in ("type", "a", "b", "document", "travel_minutes", "valid_from", "valid_to")
            },
        }
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
    rule: dict[str, Any] = {
        k: form[k].strip()
        for k in ("type", "a", "b", "document", "valid_from", "valid_to", "via")
        if form.get(k, "").strip()
    }
    if form.get("travel_minutes", "").strip():
        try:
            rule["travel_minutes"] = float(form["travel_minutes"].replace(",", "."))
        except ValueError:
            errors["travel_minutes"] = "phải là số / a number"
    if not errors:
        communes = set(request.app.state.graph)
        try:

            def save(s):
                if form.get("rule_id", "").isdigit():
                    return update_rule(s, p, int(form["rule_id"]), rule, form["reason"], communes)
                return create_rule(s, p, rule, form["reason"], communes)

            await run_in_threadpool(run_once, request, p, form, save)
        except _AlreadySent:
            errors["form"] = T[lang_of(request)]["already_sent"]
        except (ServiceError, LienXaError) as exc:
            msg = _error_message(exc)
            errors[_rule_error_field(msg, form)] = msg
    if errors:
        return render(
            request,
            "planner.html",
            {"user": p, **planner_context(request), "errors": errors, "form": form},
            status=422,
        )
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
            await run_in_threadpool(
                run_once, request, p, form, lambda s: retire_rule(s, p, rule_id, form["reason"])
            )
        except _AlreadySent:
            error = T[lang_of(request)]["already_sent"]
        except ServiceError as exc:
            error = _error_message(exc)
    if error:  # the rule form keeps nothing of this one; the retire reason stays in its row
        return render(
            request,
            "planner.html",
            {
                "user": p,
                **planner_context(request),
                "errors": {f"retire_{rule_id}": error},
                "form": {},
                "retire": {rule_id: form.get("reason", "")},
            },
            status=422,
        )
    return RedirectResponse("/planner?done=retired", status_code=303)
