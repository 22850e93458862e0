"""/api/tokens/<id>/complete: hand a waiting job the data it waits for."""

from django.http import HttpRequest, HttpResponse

from core.api import params
from core.api.auth import authenticate
from core.api.responses import ApiError, api_view, json_response
from core.api.serialize import token_json
from core.durable import tokens


@api_view(["POST"])
def complete(request: HttpRequest, token_id: str) -> HttpResponse:
    """Complete a waiting token with ``{"output": …}`` (optional); its job wakes."""
    caller = authenticate(request, "queueadmin.change_waittoken", write=True)
    body = params.json_body(request, required=False)
    unknown = sorted(set(body) - {"output"})
    if unknown:
        raise ApiError(400, f"unknown field {', '.join(unknown)}; fields: output")
    done = tokens.complete_token(token_id, body.get("output"), actor=caller.actor)
    if not done.completed:
        raise ApiError(
            409,
            f"token {token_id} is {done.token.status}; only waiting tokens can be completed",
            token=token_json(done.token),
        )
    return json_response({"token": token_json(done.token)})
