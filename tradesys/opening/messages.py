"""The opening's commands as they arrive at an edge (a hall frame, an HTTP body): the hall
protocol's client messages (docs/hall-protocol.md).

Strict models: no coercion, no unknown fields, bounded strings. A message that does not parse
into one of these is refused and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, TypeAdapter

from tradesys.bids.released import ReleasedShare
from tradesys.strict import LINES, ONE_LINE, Strict

ClientId = Annotated[str, Field(max_length=64), ONE_LINE]
#: Announcements, objections and answers keep their line breaks (the hall's text areas); chat
#: is one line (the hall's input box). tradesys/strict.py says what each refuses.
Text = Annotated[str, Field(min_length=1, max_length=1000), LINES]
ChatText = Annotated[str, Field(min_length=1, max_length=1000), ONE_LINE]


class Command(Strict):
    id: ClientId | None = None


class Ping(Command):
    type: Literal["ping"]
    t: float | int | None = None


class Bare(Command):
    type: Literal["sign_in", "start_decryption", "end_decryption", "read_next",
                  "generate_record", "close"]


class ReleaseShare(Command):
    type: Literal["release_share"]
    share: Annotated[str, Field(min_length=40, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")]


class ReleaseHolderShare(Command):
    type: Literal["release_holder_share"]
    share: ReleasedShare


class Reasoned(Command):
    type: Literal["declare_failed", "pause", "resume"]
    reason: Annotated[str, Field(max_length=1000), LINES] = ""


class Texted(Command):
    type: Literal["announce", "raise_objection"]
    text: Text


class Chat(Command):
    type: Literal["chat"]
    text: ChatText


class Confirm(Command):
    type: Literal["confirm_record"]
    record_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    #: The bidder's registered signing key, and its ECDSA P-256 signature (r || s, base64url)
    #: over tradesys.opening.confirmation.message.
    key_id: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    signature: Annotated[str, Field(min_length=86, max_length=86, pattern=r"^[A-Za-z0-9_-]+$")]


class Answer(Command):
    type: Literal["answer_objection"]
    objection: Annotated[int, Field(ge=1, le=1_000_000)]
    text: Text


class Mute(Command):
    type: Literal["mute", "unmute"]
    org_id: Annotated[int, Field(ge=1)]


MODELS = (Ping, Bare, ReleaseShare, ReleaseHolderShare, Reasoned, Texted, Chat, Confirm, Answer,
          Mute)
AnyCommand = Annotated[
    Ping | Bare | ReleaseShare | ReleaseHolderShare | Reasoned | Texted | Chat | Confirm | Answer
    | Mute, Field(discriminator="type")]
#: What ``POST /sections/{id}/opening/commands`` takes: every command that changes the opening.
#: ``ping`` is the hall's clock check, answered by the connection itself: over HTTP it is not a
#: command (``GET /time`` is the server time there), so it is refused like any unknown type.
AnyHttpCommand = Annotated[
    Bare | ReleaseShare | ReleaseHolderShare | Reasoned | Texted | Chat | Confirm | Answer | Mute,
    Field(discriminator="type")]
COMMAND = TypeAdapter(AnyCommand)


def _types(models: tuple[type[Command], ...]) -> frozenset[str]:
    return frozenset(name for model in models
                     for name in get_args(model.model_fields["type"].annotation))


#: Every command type, from the models' ``type`` literals.
TYPES = _types(MODELS)
#: The types the domain runs (``OpeningCommands.run``): all but ``ping``.
DOMAIN_TYPES = _types(tuple(model for model in MODELS if model is not Ping))
