"""Local stand-ins for the neural TTS providers: their APIs, their keys, their error bodies.

One aiohttp server on 127.0.0.1 answers all four APIs (each engine's ``base_url``
points at it): Google ``/v1/text:synthesize``, Azure ``/cognitiveservices/v1``, Polly
``/v1/speech`` (the SigV4 signature is checked with botocore, as AWS would), and the
OpenAI-compatible ``/v1/audio/speech``. Each request takes the next step of
``script`` (or ``mode`` when the script is empty): ``ok``, ``400``, ``401``, ``429``,
``quota``, ``500`` or ``slow`` (``delay`` seconds, then ``ok``). Error bodies are the
providers' own shapes (their reference documentation): a wrong key gets the
provider's real refusal whatever the mode. Used by the tests and benchmarks/prompts.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from tts_helpers import tone_wav

KEYS = {
    "google": "AIza-test-key",
    "azure": "azure-test-key",
    "openai": "sk-test-key",
    "polly": "polly-test-secret",
}
POLLY_KEY_ID = "AKIDTESTEXAMPLE"
ENV = {
    "FAKE_GOOGLE_KEY": KEYS["google"],
    "FAKE_AZURE_KEY": KEYS["azure"],
    "FAKE_OPENAI_KEY": KEYS["openai"],
    "FAKE_POLLY_SECRET": KEYS["polly"],
    "FAKE_POLLY_KEY_ID": POLLY_KEY_ID,
}
#: the tone each provider "speaks" (Hz), so a test can tell whose audio it hears
TONES = {"google": 440.0, "azure": 550.0, "polly": 660.0, "openai": 770.0}


@dataclass
class Seen:
    kind: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeSpeech:
    mode: str = "ok"
    script: list[str] = field(default_factory=list)
    delay: float = 2.0
    retry_after: str = "120"
    seconds: float = 0.6
    seen: list[Seen] = field(default_factory=list)
    #: loop time of each answer sent (success or error)
    answered: list[float] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeSpeech:
        app = web.Application()
        app.router.add_post("/v1/text:synthesize", self._google)
        app.router.add_post("/cognitiveservices/v1", self._azure)
        app.router.add_post("/v1/speech", self._polly)
        app.router.add_post("/v1/audio/speech", self._openai)
        app.router.add_post("/http/{tail:.*}", self._moved)  # an http:// URL of an https API
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def provider(self, kind: str, **extra: Any) -> dict[str, Any]:
        """A ``tts.providers`` entry pointing at this server."""
        voices = {
            "google": {"es": "es-ES-Neural2-A", "en": "en-US-Neural2-F"},
            "azure": {"es": "es-ES-ElviraNeural", "en": "en-US-JennyNeural"},
            "polly": {"es": "Lucia", "en": "Joanna"},
            "openai": {"es": "nova", "en": "alloy"},
        }[kind]
        entry: dict[str, Any] = {
            "kind": kind,
            "base_url": self.url,
            "key_env": {
                "google": "FAKE_GOOGLE_KEY",
                "azure": "FAKE_AZURE_KEY",
                "polly": "FAKE_POLLY_SECRET",
                "openai": "FAKE_OPENAI_KEY",
            }[kind],
            "region": "eu-west-1" if kind == "polly" else "westeurope",
            "voices": voices,
            "timeout": 5,
            "retries": 2,
        }
        if kind == "polly":
            entry["key_id_env"] = "FAKE_POLLY_KEY_ID"
        entry.update(extra)
        return entry

    def count(self, kind: str) -> int:
        return sum(1 for s in self.seen if s.kind == kind)

    async def _moved(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        raise web.HTTPMovedPermanently(f"https://tts.example/{tail}")

    # -- one request -------------------------------------------------------------------

    async def _step(self, request: web.Request, kind: str) -> tuple[str, bytes]:
        body = await request.read()
        self.seen.append(Seen(kind, dict(request.headers), body))
        step = self.script.pop(0) if self.script else self.mode
        if step == "slow":
            await asyncio.sleep(self.delay)
            step = "ok"
        return step, body

    def _answer(self, response: web.Response) -> web.Response:
        self.answered.append(asyncio.get_running_loop().time())
        return response

    def _tone(self, kind: str, rate: int = 16000) -> bytes:
        return tone_wav(TONES[kind], rate, self.seconds, amplitude=0.3)

    async def _google(self, request: web.Request) -> web.Response:
        step, body = await self._step(request, "google")
        if request.headers.get("X-Goog-Api-Key") != KEYS["google"]:
            refusal = "API key not valid. Please pass a valid API key."
            return self._answer(
                _google_error(400, refusal, "INVALID_ARGUMENT", reason="API_KEY_INVALID")
            )
        errors = {
            "400": (400, "Voice 'xx-XX-Nope' does not exist. Is it misspelled?",
                    "INVALID_ARGUMENT"),
            "401": (401, "Request had invalid authentication credentials. Expected OAuth 2 "
                    "access token, login cookie or other valid authentication credential.",
                    "UNAUTHENTICATED"),
            "429": (429, "Quota exceeded for quota metric 'Requests' and limit 'Requests per "
                    "minute' of service 'texttospeech.googleapis.com'.", "RESOURCE_EXHAUSTED"),
            "quota": (429, "Quota exceeded for quota metric 'Characters' and limit 'Characters "
                      "per day' of service 'texttospeech.googleapis.com'.", "RESOURCE_EXHAUSTED"),
            "500": (500, "Internal error encountered.", "INTERNAL"),
        }  # fmt: skip
        if step in errors:
            response = _google_error(*errors[step])
            if step == "429":
                response.headers["Retry-After"] = self.retry_after
            return self._answer(response)
        request_json = json.loads(body)
        assert set(request_json) == {"input", "voice", "audioConfig"}
        audio = base64.b64encode(self._tone("google")).decode()
        return self._answer(web.json_response({"audioContent": audio}))

    async def _azure(self, request: web.Request) -> web.Response:
        step, body = await self._step(request, "azure")
        if request.headers.get("Ocp-Apim-Subscription-Key") != KEYS["azure"] or step == "401":
            return self._answer(web.json_response({"error": {"code": "401", "message": (
                "Access denied due to invalid subscription key or wrong API endpoint. Make "
                "sure to provide a valid key for an active subscription and use a correct "
                "regional API endpoint for your resource.")}}, status=401))  # fmt: skip
        if step == "400":  # Azure answers a bad SSML or voice with an empty 400
            return self._answer(web.Response(status=400))
        if step in ("429", "quota"):
            return self._answer(web.Response(status=429, headers={"Retry-After": self.retry_after}))
        if step == "500":
            return self._answer(web.Response(status=500, text="Internal server error"))
        if request.headers.get("X-Microsoft-OutputFormat") != "riff-16khz-16bit-mono-pcm":
            return self._answer(web.Response(status=400))
        if not re.search(rb"<speak [^>]*xml:lang=\"\w\w-\w\w\"><voice name=", body):
            return self._answer(web.Response(status=400))
        return self._answer(web.Response(body=self._tone("azure"), content_type="audio/x-wav"))

    async def _polly(self, request: web.Request) -> web.Response:
        step, body = await self._step(request, "polly")
        problem = _polly_signature_problem(request, body)
        if problem is not None:
            return self._answer(_polly_error(403, *problem))
        errors = {
            "400": (400, "InvalidSsmlException", "Invalid SSML request"),
            "401": (403, "UnrecognizedClientException",
                    "The security token included in the request is invalid."),
            "429": (400, "ThrottlingException", "Rate exceeded"),
            "quota": (400, "ThrottlingException", "Rate exceeded"),
            "500": (500, "ServiceFailureException", "An unknown condition caused a failure"),
        }  # fmt: skip
        if step in errors:
            return self._answer(_polly_error(*errors[step]))
        request_json = json.loads(body)
        assert request_json["OutputFormat"] == "pcm" and request_json["SampleRate"] == "16000"
        pcm = self._tone("polly")[44:]
        return self._answer(web.Response(body=pcm, content_type="audio/pcm",
                                         headers={"x-amzn-RequestCharacters": "42"}))  # fmt: skip

    async def _openai(self, request: web.Request) -> web.Response:
        step, _ = await self._step(request, "openai")
        if request.headers.get("Authorization") != f"Bearer {KEYS['openai']}" or step == "401":
            return self._answer(_openai_error(401, "invalid_request_error", "invalid_api_key",
                "Incorrect API key provided: sk-wro***. You can find your API key at "
                "https://platform.openai.com/account/api-keys."))  # fmt: skip
        errors = {
            "400": (400, "invalid_request_error", "invalid_value",
                    "Invalid value for 'voice'."),
            "429": (429, "requests", "rate_limit_exceeded",
                    "Rate limit reached for tts-1 on requests per min (RPM): Limit 3."),
            "quota": (429, "insufficient_quota", "insufficient_quota",
                      "You exceeded your current quota, please check your plan and billing "
                      "details."),
            "500": (500, "server_error", None,
                    "The server had an error while processing your request. Sorry about that!"),
        }  # fmt: skip
        if step in errors:
            response = _openai_error(*errors[step])
            if step == "429":
                response.headers["Retry-After"] = self.retry_after
            return self._answer(response)
        # OpenAI streams its WAV: the RIFF and data sizes are 0xFFFFFFFF
        wav = bytearray(self._tone("openai", rate=24000))
        wav[4:8] = wav[40:44] = struct.pack("<I", 0xFFFFFFFF)
        return self._answer(web.Response(body=bytes(wav), content_type="audio/wav"))


def _google_error(code: int, message: str, status: str, reason: str | None = None):
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason, "domain": "googleapis.com",
                             "metadata": {"service": "texttospeech.googleapis.com"}}]  # fmt: skip
    return web.json_response({"error": error}, status=code)


def _polly_error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response(
        {"message": message},
        status=status,
        headers={"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.tts/"},
    )


def _openai_error(status: int, kind: str, code: str | None, message: str) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status)


def _polly_signature_problem(request: web.Request, body: bytes) -> tuple[str, str] | None:
    """Check AWS Signature Version 4 the way AWS does: recompute it with the secret."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = request.headers.get("Authorization", "")
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([\w-]+)/polly/aws4_request, "
        r"SignedHeaders=([\w;-]+), Signature=([0-9a-f]{64})",
        authorization,
    )
    if match is None:
        return "MissingAuthenticationTokenException", "Missing Authentication Token"
    key_id, _, region, signed_headers, signature = match.groups()
    if key_id != POLLY_KEY_ID:
        return "UnrecognizedClientException", (
            "The security token included in the request is invalid."
        )
    headers = {
        name: request.headers[name]
        for name in request.headers
        if name.lower() in signed_headers.split(";")
    }
    url = f"http://{request.headers['Host']}{request.path_qs}"
    replay = AWSRequest(request.method, url, data=body, headers=headers)
    replay.context["timestamp"] = request.headers.get("X-Amz-Date", "")
    signer = SigV4Auth(Credentials(key_id, KEYS["polly"]), "polly", region)
    expected = signer.signature(signer.string_to_sign(replay, signer.canonical_request(replay)),
                                replay)  # fmt: skip
    if expected != signature:
        return "InvalidSignatureException", (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return None
