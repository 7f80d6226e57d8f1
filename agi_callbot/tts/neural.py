"""The four kinds of neural provider: Google, Azure, Amazon Polly, OpenAI-compatible.

Each asks for 16 kHz 16-bit mono where the API lets it choose (the best a telephone
line can use: 8 kHz files are made from it by sox's anti-aliased resampler), and
hands the audio to the pipeline as it came:

- Google Cloud Text-to-Speech: ``POST /v1/text:synthesize``, ``LINEAR16`` at 16 kHz —
  base64 ``audioContent``, a WAV file with its header. SSML, except Chirp voices.
- Azure AI Speech: ``POST /cognitiveservices/v1`` with an SSML body,
  ``X-Microsoft-OutputFormat: riff-16khz-16bit-mono-pcm`` — a WAV file.
- Amazon Polly: ``POST /v1/speech`` (SynthesizeSpeech), signed with AWS Signature
  Version 4 by botocore's signer; ``pcm`` at 16 kHz — raw samples, no header.
- OpenAI-compatible: ``POST /v1/audio/speech`` with ``response_format: wav`` — OpenAI
  itself and the self-hosted servers that copy its API (Piper, Kokoro…); plain text,
  usually 24 kHz.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from agi_callbot.config import secret
from agi_callbot.tts.audio import SourceAudio
from agi_callbot.tts.providers import ProviderEngine, ProviderError, by_status

_WAV = ("-t", "wav")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _wav(provider: str, data: bytes) -> SourceAudio:
    if len(data) <= 44 or data[:4] != b"RIFF":
        raise ProviderError(provider, "server", "the answer is not a WAV file")
    return SourceAudio(data, _WAV)


def _percent(rate: float) -> str:
    """Polly's prosody rate: a percentage of the voice's own speed (100% = unchanged)."""
    return f"{round(rate * 100)}%"


class GoogleEngine(ProviderEngine):
    kind = "google"
    voice_has_language = True
    #: 5,000 bytes a request, SSML included; Spanish letters take two
    max_chars = 2000

    def takes_ssml(self, options: Mapping[str, Any]) -> bool:
        return "chirp" not in str(options["voice"]).lower()  # Chirp 3 HD takes no SSML

    def request(self, text, options, key):
        field = "ssml" if self.takes_ssml(options) else "text"
        payload = {
            "input": {field: f"<speak>{text}</speak>" if field == "ssml" else text},
            "voice": {"languageCode": options["language"], "name": options["voice"]},
            "audioConfig": {
                "audioEncoding": "LINEAR16",
                "sampleRateHertz": 16000,
                "speakingRate": options["rate"],
            },
        }
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Goog-Api-Key": key or ""}
        url = f"{_root(self.provider.base_url)}/v1/text:synthesize"
        return "POST", url, headers, json.dumps(payload).encode()

    def audio(self, response):
        body = _json(response)
        content = body.get("audioContent") if isinstance(body, dict) else None
        if not isinstance(content, str):
            raise ProviderError(self.name, "server", "no audioContent in the answer")
        try:
            return _wav(self.name, base64.b64decode(content, validate=True))
        except binascii.Error:
            raise ProviderError(self.name, "server", "audioContent is not base64") from None

    def failure(self, response):
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return by_status(response.status_code), response.text.strip()
        status = str(error.get("status") or "")
        reasons = {
            str(d.get("reason"))
            for d in error.get("details") or []
            if isinstance(d, dict) and d.get("reason")
        }
        message = f"{status}: {error.get('message', '')}".strip(": ")
        if status in ("UNAUTHENTICATED", "PERMISSION_DENIED") or reasons & {
            "API_KEY_INVALID",
            "SERVICE_DISABLED",
            "BILLING_DISABLED",
        }:
            return "auth", message
        if status == "RESOURCE_EXHAUSTED":
            daily = "per day" in message.lower()
            return ("quota" if daily else "rate"), message
        return by_status(response.status_code), message


class AzureEngine(ProviderEngine):
    kind = "azure"
    voice_has_language = True
    max_chars = 3000

    def takes_ssml(self, options):
        return True

    def request(self, text, options, key):
        rate = options["rate"]  # Azure reads a bare number as a multiplier ("50%" = +50 %)
        inner = text if rate == 1.0 else f'<prosody rate="{rate:g}">{text}</prosody>'
        ssml = (
            '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
            f'xml:lang="{options["language"]}"><voice name="{options["voice"]}">'
            f"{inner}</voice></speak>"
        )
        headers = {
            "Ocp-Apim-Subscription-Key": key or "",
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": "riff-16khz-16bit-mono-pcm",
        }
        url = f"{self.provider.base_url}/cognitiveservices/v1"
        return "POST", url, headers, ssml.encode("utf-8")

    def audio(self, response):
        return _wav(self.name, response.content)

    def failure(self, response):
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("code") or "")
        else:
            message = response.text.strip() or response.reason_phrase
        return by_status(response.status_code), message


#: Polly's error types (``x-amzn-ErrorType``) that are about the credentials
_AWS_AUTH = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "AccessDeniedException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
        "IncompleteSignature",
    }
)


class PollyEngine(ProviderEngine):
    kind = "polly"
    #: 3,000 billed characters a request (SSML tags are not billed)
    max_chars = 2500

    def takes_ssml(self, options):
        return True

    def extra_options(self) -> dict[str, Any]:
        return {"engine": self.provider.model}

    def request(self, text, options, key):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        rate = options["rate"]
        inner = text if rate == 1.0 else f'<prosody rate="{_percent(rate)}">{text}</prosody>'
        payload = {
            "Engine": options["engine"],
            "OutputFormat": "pcm",
            "SampleRate": "16000",
            "Text": f"<speak>{inner}</speak>",
            "TextType": "ssml",
            "VoiceId": options["voice"],
        }
        body = json.dumps(payload).encode("utf-8")
        url = f"{self.provider.base_url}/v1/speech"
        key_id = secret(self.provider.key_id_env)
        if key_id is None:
            raise ProviderError(
                self.name, "auth", f"environment variable {self.provider.key_id_env} is not set"
            )
        credentials = Credentials(key_id, key or "", secret(self.provider.session_token_env))
        signed = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(credentials, "polly", self.provider.region or "us-east-1").add_auth(signed)
        return "POST", url, dict(signed.headers.items()), body

    def audio(self, response):
        data = response.content
        if len(data) < 2 or response.headers.get("content-type", "").startswith("application/"):
            raise ProviderError(self.name, "server", "the answer holds no audio")
        raw = ("-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-r", "16000", "-c", "1")
        return SourceAudio(data[: len(data) // 2 * 2], raw)

    def failure(self, response):
        kind = response.headers.get("x-amzn-errortype", "").split(":")[0]
        body = _json(response)
        if isinstance(body, dict):
            kind = kind or str(body.get("__type") or "").rsplit("#", 1)[-1]
            message = str(body.get("message") or body.get("Message") or "")
        else:
            message = response.text.strip()
        label = f"{kind}: {message}" if kind else message
        if kind in _AWS_AUTH:
            return "auth", label
        if kind == "ThrottlingException":
            return "rate", label
        if kind == "ServiceFailureException":
            return "server", label
        return by_status(response.status_code), label


class OpenAiEngine(ProviderEngine):
    kind = "openai"
    max_chars = 4000

    def needs_key(self) -> bool:
        return False  # a local server (Piper, Kokoro) may take none

    def extra_options(self) -> dict[str, Any]:
        # the same voice name on another server is another voice
        parts = urlsplit(self.provider.base_url)
        return {"model": self.provider.model, "server": f"{parts.hostname}:{parts.port or ''}"}

    def request(self, text, options, key):
        payload = {
            "model": options["model"],
            "voice": options["voice"],
            "input": text,
            "response_format": "wav",
            "speed": options["rate"],
        }
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return (
            "POST",
            f"{_v1(self.provider.base_url)}/audio/speech",
            headers,
            json.dumps(payload).encode(),
        )

    def audio(self, response):
        return _wav(self.name, response.content)

    def failure(self, response):
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            detail = body.get("detail") if isinstance(body, dict) else None  # FastAPI servers
            return by_status(response.status_code), str(detail or response.text.strip())
        code = str(error.get("code") or error.get("type") or "")
        message = f"{code}: {error.get('message', '')}".strip(": ")
        if code in ("insufficient_quota", "billing_hard_limit_reached"):
            return "quota", message
        if code in ("invalid_api_key", "invalid_authentication"):
            return "auth", message
        return by_status(response.status_code), message


def _root(base_url: str) -> str:
    """Google's base URL without a trailing ``/v1`` (both spellings are accepted)."""
    return base_url[:-3] if base_url.endswith("/v1") else base_url


def _v1(base_url: str) -> str:
    """An OpenAI-style base URL with its ``/v1`` (``http://kokoro:8880`` or ``…/v1``)."""
    return base_url if base_url.endswith("/v1") else f"{base_url}/v1"


KIND_ENGINES: dict[str, type[ProviderEngine]] = {
    cls.kind: cls for cls in (GoogleEngine, AzureEngine, PollyEngine, OpenAiEngine)
}
