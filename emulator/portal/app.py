"""The portal's WSGI application: routes, templates, CSRF checks and the try-it proxy.

It only reads the emulator root, except through the try-it panel (a scoring request) and the
deploy form (a new service, hosted by this process).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect, send_from_directory
from werkzeug.wrappers import Request, Response

from emulator.errors import AzureMLException
from emulator.exceptions import EmulatorError
from emulator.portal import csrf, pages
from emulator.portal.deploy import FormError, submit
from emulator.portal.metrics import MetricsRecorder
from emulator.sdk.webservice.scoring import post
from emulator.sdk.workspace import Workspace
from emulator.views import resources

HERE = Path(__file__).resolve().parent

_ROUTES = Map(
    [
        Rule("/", endpoint="index"),
        Rule("/models", endpoint="models"),
        Rule("/images", endpoint="images"),
        Rule("/images/<path:image_id>", endpoint="image"),
        Rule("/compute", endpoint="compute"),
        Rule("/services", endpoint="services"),
        Rule("/services/<name>", endpoint="service"),
        Rule("/services/<name>/live", endpoint="live"),
        Rule("/services/<name>/keys", endpoint="keys", methods=["POST"]),
        Rule("/services/<name>/try", endpoint="try_it", methods=["POST"]),
        Rule("/endpoints/<name>", endpoint="online_endpoint"),
        Rule("/endpoints/<endpoint>/deployments/<name>", endpoint="online_deployment"),
        Rule("/deploy", endpoint="deploy", methods=["GET", "POST"]),
        Rule("/static/<path:filename>", endpoint="static"),
    ]
)


class PortalApp:
    """One workspace's portal; ``recorder`` samples its services' counters; ``arm_url`` says
    where the emulator serving the root's SDK v2 endpoints answers (asked per page: ``amlemu
    up`` may start or stop while the portal runs), None when nothing serves them."""

    def __init__(
        self,
        workspace: Workspace,
        recorder: MetricsRecorder | None = None,
        arm_url: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.workspace = workspace
        self.recorder = recorder or MetricsRecorder(workspace)
        self.arm_url = arm_url
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        token = csrf.token(request)
        try:
            response = self._dispatch(request, token)
        except HTTPException as exc:
            response = self._render(
                "error.html", token, status=exc.code or 500, message=exc.description
            )
        except (AzureMLException, EmulatorError) as exc:
            response = self._render("error.html", token, status=404, message=str(exc))
        if request.cookies.get(csrf.COOKIE) != token:
            csrf.remember(response, token)
        response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        response.headers["X-Frame-Options"] = "DENY"
        return response(environ, start_response)

    def _dispatch(self, request: Request, token: str) -> Response:
        if not csrf.local_host(request):
            return self._render("error.html", token, status=421, message=csrf.HOST_MESSAGE)
        endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        if endpoint == "static":
            return send_from_directory(HERE / "static", args["filename"], request.environ)
        if request.method == "POST":
            reason = csrf.rejection(request)
            if reason:
                return self._render("error.html", token, status=403, message=f"Refused: {reason}.")
        handler: Callable[..., Response] = getattr(self, f"_{endpoint}")
        return handler(request, token, **args)

    def _render(self, template: str, token: str, status: int = 200, **context: Any) -> Response:
        html = self.templates.get_template(template).render(
            csrf_field=csrf.FIELD, csrf_token=token, workspace=self.workspace.name, **context
        )
        return Response(html, status=status, mimetype="text/html")

    # -- pages -------------------------------------------------------------------------------

    def _index(self, request: Request, token: str) -> Response:
        return redirect("/services")

    def _models(self, request: Request, token: str) -> Response:
        return self._render("models.html", token, page="models", **pages.models(self.workspace))

    def _images(self, request: Request, token: str) -> Response:
        return self._render("images.html", token, page="images", **pages.images(self.workspace))

    def _image(self, request: Request, token: str, image_id: str) -> Response:
        context = pages.image(self.workspace, image_id)
        return self._render("image.html", token, page="images", **context)

    def _compute(self, request: Request, token: str) -> Response:
        return self._render("compute.html", token, page="compute", **pages.compute(self.workspace))

    def _services(self, request: Request, token: str) -> Response:
        context = pages.services(self.workspace, self.arm_url())
        return self._render("services.html", token, page="services", **context)

    def _online_endpoint(self, request: Request, token: str, name: str) -> Response:
        context = pages.online_endpoint(self.workspace, name, self.arm_url())
        return self._render("online_endpoint.html", token, page="services", **context)

    def _online_deployment(
        self, request: Request, token: str, endpoint: str, name: str
    ) -> Response:
        context = pages.online_deployment(self.workspace, endpoint, name)
        return self._render("online_deployment.html", token, page="services", **context)

    def _service(
        self, request: Request, token: str, name: str, show_keys: bool = False, **extra: Any
    ) -> Response:
        context = pages.service(self.workspace, name, self.recorder, show_keys)
        return self._render("service.html", token, page="services", **context, **extra)

    def _live(self, request: Request, token: str, name: str) -> Response:
        """The parts of the service page that follow the service (polled by ``live.js``)."""
        live = pages.live(self.workspace, name, self.recorder)
        return Response(json.dumps(live), mimetype="application/json")

    def _keys(self, request: Request, token: str, name: str) -> Response:
        return self._service(request, token, name, show_keys=True)

    def _try_it(self, request: Request, token: str, name: str) -> Response:
        """Send the body to the service's scoring URI with its key or a fresh token, as a
        client would."""
        found = resources.find_service(self.workspace, name)
        details = resources.service_details(found, show_keys=True)
        body = request.form.get("body", "")
        uri = details.get("scoringUri")
        if not uri:
            raise NotFound(f"Service {name} has no scoring URI yet (state {details['state']}).")
        headers = {}
        if details["authMode"] == "key" and details["primaryKey"]:
            headers["Authorization"] = f"Bearer {details['primaryKey']}"
        elif details["authMode"] == "token":
            headers["Authorization"] = f"Bearer {found.get_token()[0]}"
        try:
            status, response_headers, text = post(uri, body, headers)
            result = {"status": status, "headers": response_headers, "body": _pretty(text)}
        except OSError as exc:
            result = {"status": None, "headers": {}, "body": f"Request failed: {exc}"}
        return self._service(request, token, name, tried=result, tried_body=body)

    def _deploy(self, request: Request, token: str) -> Response:
        choices = pages.deploy_choices(self.workspace)
        if request.method == "GET":
            return self._render("deploy.html", token, page="deploy", form={}, errors={}, **choices)
        form = {key: value for key, value in request.form.items() if key != csrf.FIELD}
        try:
            service = submit(self.workspace, form, request.form.getlist("models"))
        except FormError as exc:
            return self._render(
                "deploy.html",
                token,
                status=400,
                page="deploy",
                form=form,
                errors=exc.errors,
                picked=request.form.getlist("models"),
                **choices,
            )
        return redirect(f"/services/{service.name}", code=303)


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text
