"""What every setting means, in admin words: the text of the settings reference.

:mod:`agi_callbot.reference` takes keys, environment variables, types and defaults
from the code and the meaning of each from here; a setting or a provider key without
one fails ``tests/docs``. A new setting: its meaning here, then ``make docs``.
"""

from __future__ import annotations

#: meaning of each settings key (dotted path), in admin words
MEANINGS: dict[str, str] = {
    "listen.host": "Address the FastAGI server listens on. Keep 127.0.0.1 when Asterisk "
    "runs on the same host; use the node's LAN address (or 0.0.0.0) only behind a firewall "
    "that lets just your Asterisk servers in.",
    "listen.port": "FastAGI port: the dialplan's `AGI(agi://host:PORT/flow)`.",
    "listen.max_calls": "Calls this node holds at once; a connection beyond it is closed at "
    "once (Asterisk sees the AGI fail and the dialplan fails over).",
    "listen.env_timeout": "How long a new connection may take to send its AGI environment "
    "before it is closed.",
    "listen.reply_timeout": "Deadline for Asterisk to answer a quick command (ANSWER, SET "
    "VARIABLE…); playback and digit reads get their own length plus this margin.",
    "listen.exec_timeout": "Deadline for `EXEC Queue` / `EXEC Dial` (a caller may wait in "
    "a queue for a long time); 0 = no deadline.",
    "listen.media_timeout": "Upper bound for one prompt, GET DATA or WAIT FOR DIGIT to "
    "answer (a dead peer is noticed sooner by TCP keepalive).",
    "listen.keepalive_idle": "TCP keepalive on each FastAGI socket: first probe after this "
    "much silence. With `keepalive_interval` and `keepalive_count` a vanished Asterisk "
    "(no FIN, no RST) frees the call's slot in idle + interval × count (~1 min).",
    "listen.keepalive_interval": "Seconds between keepalive probes that go unanswered.",
    "listen.keepalive_count": "Unanswered keepalive probes that end the call.",
    "listen.drain_timeout": "On SIGTERM: stop taking calls and let the calls in progress "
    "finish for this long, then end them (their post-call actions still run).",
    "listen.close_timeout": "How long to wait for Asterisk to close a finished connection "
    "before dropping it.",
    "http.enabled": "Run the HTTP listener (/healthz, /readyz, /metrics, /prompts/…, "
    "/callbacks/…). `false` turns them all off: no `prompts.delivery: http`, no provider "
    "status callbacks, no Prometheus scrape.",
    "http.host": "Address the HTTP listener binds. Asterisk (for `http` prompts), "
    "Prometheus and providers' callbacks (usually through a reverse proxy) must reach it.",
    "http.port": "HTTP port. Avoid 8088/8089, Asterisk's own HTTP ports.",
    "flows_dir": "Folder of the flow files: `agi://host/soporte` runs `<flows_dir>/soporte.yaml`.",
    "data_dir": "Folder of the node's own files: call records (`calls.sqlite`), the "
    "outbox (`outbox.sqlite`) and the prompt cache (`prompts/`). With "
    "`prompts.delivery: local` Asterisk reads the prompts here: its user needs read access.",
    "env_file": "A file of secrets, `KEY=value` per line (mode 600: refused when others "
    "may read it), read into the environment at start-up; a variable already set in the "
    "real environment wins. `agi-callbot init` writes one (`callbot.env`).",
    "defaults.language": "Language of a flow that does not say `language:`; a call's "
    "`?language=` in the AGI URL overrides it.",
    "defaults.region": "Country (two letters) used to read national numbers as E.164 "
    "(`600111222` → `+34600111222` with ES), for flows that do not say `region:`.",
    "defaults.timezone": "Time zone of `hours` blocks in flows that do not say "
    "`timezone:` (an IANA name such as Europe/Madrid).",
    "flows.max_steps": "Most blocks one call may run: a loop with no way out ends the call "
    "with FAILED instead of spinning (a flow's `max_steps:` overrides it).",
    "flows.reload": "Reload a flow file when it changes on disk; new calls get the new "
    "version, calls in progress keep theirs. A file that fails validation is not loaded.",
    "flows.reload_interval": "How often the flows folder is checked for changes.",
    "tts.engines": "Text-to-speech engines in order of preference: `espeak-ng` (offline), "
    "`gtts` (Google, needs internet). When one fails the next one speaks.",
    "tts.live_budget": "How long a live call waits for a prompt not yet in the cache "
    "before the next engine of the chain speaks it; the slow render finishes in the "
    "background and is used from then on.",
    "tts.providers": "Neural voices by name (`google`, `azure`, `polly`, or any "
    "OpenAI-compatible server), each usable in `tts.engines` and in a flow's `voice`; keys "
    "in the table below.",
    "tts.gtts_timeout": "How long gTTS may take to answer before the next engine speaks.",
    "tts.render_timeout": "How long one prompt may take to render (engine + sox).",
    "tts.recordings_dir": "Your own recordings, used instead of TTS when present: "
    "`<recordings_dir>/<language>/<prompt id>.wav` (ids: `agi-callbot prompts list`).",
    "prompts.delivery": "How Asterisk gets the prompts: `local` (an absolute path under "
    "`data_dir`: same host or a shared volume, readable by Asterisk's user), `http` "
    "(URLs under `base_url`, fetched by `res_http_media_cache`) or `deployed` (files "
    "copied into Asterisk's sounds folder with `agi-callbot prompts build --output`).",
    "prompts.base_url": "With `delivery: http`: the URL Asterisk fetches prompts from "
    "(this node's `/prompts`, as Asterisk reaches it).",
    "prompts.http_format": "With `delivery: http`: the audio format served (`sln16`, "
    "`sln`, `ulaw`, `alaw`, `wav`, `wav16`).",
    "prompts.formats": "Formats kept in the cache for `local` and `deployed` delivery; "
    "Asterisk picks the one that needs no transcoding. The first is made while the caller "
    "waits, the others right after.",
    "prompts.deployed_prefix": "With `delivery: deployed`: the folder under Asterisk's "
    "sounds directory the built prompts are copied to (`callbot/<key>`).",
    "moh_dir": "Folder of hold music, one sub-folder per class (`<moh_dir>/ventas/`), "
    "filled by `agi-callbot moh add` and read by Asterisk's musiconhold.conf.",
    "outbox.store": "Where queued messages live: `sqlite` (`data_dir/outbox.sqlite`; "
    "`sqlite?synchronous=full` survives power loss at some speed cost) or a "
    "`postgresql://user@host/db` URL shared by several nodes.",
    "outbox.workers": "Messages sent at the same time by this node.",
    "outbox.max_attempts": "Tries per message before it is given up (status `dead`; "
    "`agi-callbot outbox retry` sends it again).",
    "outbox.backoff_base": "Wait before the 2nd try; it doubles for each further try "
    "(with random jitter) up to `backoff_max`.",
    "outbox.backoff_max": "Longest wait between two tries of a message.",
    "outbox.enqueue_timeout": "How long a call may wait for the outbox store to take a "
    "message; PostgreSQL slower than this spools to a local SQLite file instead.",
    "outbox.send_timeout": "Deadline for one send to a provider; a send that takes longer "
    "is retried later.",
    "gateways": "One section per message channel (`sms`, `whatsapp`, `email`, `webhook`) "
    "naming its provider and the provider's keys (tables below). A channel left out runs "
    "in dry-run: messages are stored and logged, never sent.",
    "templates": "The approved WhatsApp templates flows may name (keys in the table "
    "below); a flow naming another one fails validation.",
    "ami.enabled": "Ask Asterisk over AMI whether a team has a free agent before queuing "
    "a caller (a `transfer` goes to `on_nobody` at once when nobody is). Needs the "
    "environment variable named by `secret_env`.",
    "ami.host": "Address of Asterisk's manager interface (manager.conf).",
    "ami.port": "Port of Asterisk's manager interface.",
    "ami.username": "AMI user (manager.conf section); read-only rights are enough, "
    "`write = command` lets `doctor` check the hold-music classes.",
    "ami.secret_env": "Name of the environment variable holding the AMI user's secret "
    "(never the secret itself).",
    "ami.timeout": "Deadline for AMI to answer; without an answer the transfer goes ahead "
    "unchecked.",
    "console.enabled": "Serve the designer console (a web page to edit, check and "
    "draw flows) on the HTTP listener, or on its own port (`console.port`).",
    "console.token_env": "Name of the environment variable holding the console's admin "
    "token; when it is unset a token is generated at start: its login link is never logged, "
    "it is kept in `<data_dir>/console/login-url` (mode 600; `agi-callbot console-url`).",
    "console.password_hash": "Lets admins log in with a password instead of the token: the "
    "hash `agi-callbot console-password` prints (never the password itself).",
    "console.host": "With `console.port`: the address the console's own listener binds.",
    "console.port": "0: the console shares the HTTP listener (`http.port`). Another port "
    "gives it a listener of its own, so the provider callbacks can be published without "
    "publishing the console.",
    "console.session_ttl": "How long a console login lasts.",
    "console.history": "Previous versions of each flow the console keeps (the oldest go first).",
    "console.max_flow_bytes": "Largest flow file the console accepts, in bytes.",
    "console.max_upload_bytes": "Largest upload (a recording, hold music) the console "
    "accepts, in bytes.",
    "console.trusted_proxies": "Reverse proxies (addresses or CIDRs, e.g. `[127.0.0.1]`) "
    "that terminate TLS in front of the console: from them alone, `X-Forwarded-Proto` / "
    "`Forwarded: proto=https` make the session cookie Secure and `X-Forwarded-For` names "
    "the client for the login rate limit. Empty: those headers are ignored.",
    "console.workers": "Processes that check, edit, draw and try flow drafts, so the "
    "console's work never holds up calls (they run at a lower priority than the node); "
    "started when an admin logs in, stopped when the node stops, replaced if one dies.",
    "log.format": "`text` (for people), `json` (one object per line, for journald, "
    "Loki…) or `auto` (text on a terminal, JSON otherwise).",
    "log.level": "DEBUG, INFO, WARNING or ERROR.",
    "log.full_numbers": "Show callers' numbers in full in logs and `agi-callbot calls` "
    "(default: masked, `+34600***222`).",
}

#: keys of one ``templates.<name>`` entry
TEMPLATE_KEYS: dict[str, tuple[str, str]] = {
    "language": ("required", "Language code as approved (`es`, `en_US`), or a list of them."),
    "params": ("0", "How many body parameters the template takes; a flow must give as many."),
    "category": ("—", "`marketing`, `utility` or `authentication` (for your records)."),
    "content_sid": (
        "—",
        "Twilio only: the Content API template id (`HX…`), or `{language: id}`.",
    ),
}

#: ``(default, meaning)`` of each key of one ``tts.providers.<name>`` entry
TTS_PROVIDER_KEYS: dict[str, tuple[str, str]] = {
    "kind": (
        "required",
        "`google`, `azure`, `polly` or `openai` (any OpenAI-compatible "
        "`/v1/audio/speech`: OpenAI, or Piper/Kokoro on your own hardware).",
    ),
    "base_url": ("the kind's public endpoint", "API address (a proxy, a local server)."),
    "key_env": (
        "by kind",
        "Environment variable holding the API key (google: "
        "GOOGLE_TTS_API_KEY, azure: AZURE_SPEECH_KEY, polly: AWS_SECRET_ACCESS_KEY, "
        "openai: OPENAI_API_KEY); a local server may need none.",
    ),
    "region": ("—", "Azure and Polly: the resource's region (`westeurope`, `eu-west-1`)."),
    "voices": (
        "—",
        "Voice per language: `{es: es-ES-Neural2-A, en: en-US-Neural2-F}`; a "
        "language without one goes down the chain.",
    ),
    "rate": ("1.0", "Speaking rate, 0.25–4 (1 = the voice's own)."),
    "timeout": ("10s", "Deadline for one request (the live budget is separate, shorter)."),
    "retries": ("2", "Retries on 429 and 5xx answers (0–10)."),
    "model": ("by kind", "openai: the model (`tts-1`); polly: the engine (`neural`)."),
    "key_id_env": ("AWS_ACCESS_KEY_ID", "Polly: environment variable holding the access key id."),
    "session_token_env": (
        "AWS_SESSION_TOKEN",
        "Polly: environment variable holding a session token, when used.",
    ),
    "breaker_failures": (
        "3",
        "Failures in a row after which the provider is skipped for a while (circuit breaker).",
    ),
    "breaker_open_for": ("30s", "How long a tripped provider is skipped."),
}

#: ``(default, meaning)`` of each gateway provider key: ``"channel.provider.key"`` first,
#: then ``"key"`` (keys every HTTP provider shares)
GATEWAY_KEYS: dict[str, tuple[str, str]] = {
    "provider": ("see above", "Which provider this channel uses."),
    "dry_run": ("false", "`true`: keep the settings but only log messages (a test period)."),
    "base_url": ("the provider's", "API address (a sandbox or a proxy in front of it)."),
    "timeout": ("10s", "Deadline for one request to the provider."),
    "connect_timeout": ("5s", "Deadline to connect to the provider."),
    "max_connections": ("20", "Connections kept open to the provider."),
    "idempotency_header": (
        "Idempotency-Key",
        "Header carrying the outbox's idempotency key on every request, so a send repeated "
        "after a crash can be recognised (Twilio: `I-Twilio-Idempotency-Token`; webhook: the "
        "key as is, else plain or its SHA-256); `none` leaves it out.",
    ),
    "sms.http.url": ("required", "The API's URL (or `base_url` + `path`)."),
    "sms.http.path": ("—", "Added to `base_url` when `url` is not given."),
    "sms.http.method": ("POST", "`POST`, `PUT` or `GET` (Kannel's `/cgi-bin/sendsms`)."),
    "sms.http.body_format": ("json", "`json` or `form` (URL-encoded)."),
    "sms.http.body": (
        "`{to, from, text}`",
        "Request body; strings may hold `{to}`, `{from}`, `{text}`, `{key}` (idempotency "
        "key) and `{secret}` (the value of `auth_env`). None for GET.",
    ),
    "sms.http.query": ("{}", "Query-string fields, with the same placeholders."),
    "sms.http.headers": ("{}", "Extra request headers."),
    "sms.http.auth_env": (
        "—",
        "Environment variable holding the API token, sent as `<auth_scheme> <token>` in "
        "`auth_header` (for `Basic`, the variable holds `user:password`).",
    ),
    "sms.http.auth_header": ("Authorization", "Header carrying the token (`none`: no header)."),
    "sms.http.auth_scheme": ("Bearer", "`Bearer`, `Basic`, or another word before the token."),
    "sms.http.success_status": ("any 2xx", "HTTP statuses that mean accepted, e.g. `[200, 202]`."),
    "sms.http.id_path": (
        "—",
        "Where the provider's message id is in its JSON answer (`messages.0.id`).",
    ),
    "sms.http.from": (
        "—",
        "Sender (number or name of up to 11 characters) when the flow gives none.",
    ),
    "account_sid": ("—", "Twilio account SID (or `account_sid_env`)."),
    "account_sid_env": ("—", "Environment variable holding the account SID."),
    "auth_token_env": (
        "required",
        "Environment variable holding the Twilio auth token "
        "(also checks the signature of status callbacks).",
    ),
    "from": ("—", "Sender number (`+34910000000`); this or `messaging_service_sid`."),
    "messaging_service_sid": ("—", "Twilio messaging service that picks the sender."),
    "status_callback": (
        "—",
        "Public URL of this node's `/callbacks/twilio` (through your "
        "proxy): Twilio reports delivery there.",
    ),
    "whatsapp.meta.phone_number_id": (
        "required",
        "The sending number's id in Meta's WhatsApp Manager.",
    ),
    "whatsapp.meta.token_env": ("required", "Environment variable holding the access token."),
    "whatsapp.meta.app_secret_env": (
        "—",
        "Environment variable holding the app secret: signs Meta's calls to `/callbacks/meta`.",
    ),
    "whatsapp.meta.verify_token_env": (
        "—",
        "Environment variable holding the verify token "
        "you typed when registering the callback URL.",
    ),
    "email.smtp.host": ("localhost", "SMTP relay."),
    "email.smtp.allow_plaintext_auth": (
        "false",
        "With `security: none` and a `username`, allow the login over plain TCP (a relay on "
        "a trusted network; a warning at start). Refused otherwise.",
    ),
    "email.smtp.port": ("25", "SMTP port (587 submission, 465 TLS)."),
    "email.smtp.security": ("by port", "`none`, `starttls` or `tls` (465: tls, 587: starttls)."),
    "email.smtp.username": ("—", "SMTP login; with it, `password_env` is required."),
    "email.smtp.password_env": ("—", "Environment variable holding the SMTP password."),
    "email.smtp.from": ("required", "Sender address, `Acme <callbot@example.com>`."),
    "email.smtp.timeout": ("15s", "Deadline for one SMTP session."),
    "email.smtp.ca_file": ("system CAs", "CA certificate of a private relay."),
    "email.smtp.max_connections": ("4", "SMTP sessions at the same time."),
    "webhook.http.url": ("—", "Where a webhook action without its own URL posts."),
    "webhook.http.secret_env": (
        "—",
        "Environment variable holding the HMAC key: bodies "
        "are signed in `X-Callbot-Signature: sha256=…`.",
    ),
    "webhook.http.headers": ("{}", "Headers added to every webhook request."),
}
