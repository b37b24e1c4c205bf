"""The event log's public transparency interface: signed tree heads and Merkle proofs.

Everything here is public and reveals nothing beyond the newest *public* tree head
(archive/publication.py): a proof is given only between sizes up to that head's, and a request
beyond it is refused the same way whatever the log's real size, so these endpoints are no
oracle for how many events (bids among them) the log holds now. docs/archive.md.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import PlainTextResponse, Response

from archive import tree_head as log_tree
from archive.publication import TreeHeadPublisher
from archive.tree_head import SignedTreeHead
from tradesys.api.errors import BadRequest
from tradesys.api.routing import PEM, Call, Param, Result, Router
from tradesys.errors import DomainError, NotFound
from tradesys.events.canonical import MAX_SAFE_INTEGER
from tradesys.identity.principal import Principal
from tradesys.signatures import public_pem
from tradesys.strict import parse_int

router = Router()

_SIZE = {"type": "integer", "minimum": 0, "maximum": MAX_SAFE_INTEGER}
FROM = Param("from", "query", _SIZE, required=True,
             description="the earlier tree size (0 ≤ from ≤ to)")
TO = Param("to", "query", _SIZE,
           description="the later tree size; default: the current public tree head's")
SEQ = Param("seq", "query", {**_SIZE, "minimum": 1}, required=True,
            description="the event's sequence number (its leaf is seq − 1)")
SIZE = Param("size", "query", {**_SIZE, "minimum": 1},
             description="the tree size; default: the current public tree head's")


def _publisher(call: Call) -> TreeHeadPublisher:
    publisher = call.services.tree_heads
    if publisher is None:
        raise NotFound("not_found", "资源不存在 (no such resource)")
    return publisher


def _number(call: Call, name: str, *, minimum: int = 0) -> int | None:
    """A strictly parsed whole number from the query, None when absent."""
    raw = call.query(name)
    if raw is None:
        return None
    value = parse_int(raw, maximum=MAX_SAFE_INTEGER, minimum=minimum)
    if value is None:
        raise BadRequest(f"invalid_{name}", f"参数 {name} 须为不小于 {minimum} 的整数 "
                         f"({name} must be a whole number ≥ {minimum})")
    return value


def _not_published(size: int, public: int) -> BadRequest:
    return BadRequest("tree_size_not_published",
                      f"树大小 {size} 超出最新公开的树头 ({public}) (tree size {size} is beyond "
                      f"the newest public tree head, {public})",
                      details={"public_tree_size": public})


def _hex(values: list[bytes]) -> list[str]:
    """Hashes in lowercase hex, as the log spells event hashes."""
    return [value.hex() for value in values]


async def _current(call: Call, session: AsyncSession) -> SignedTreeHead:
    try:
        return await _publisher(call).current(session, call.now)
    except log_tree.BrokenLog as exc:
        raise log_broken(exc) from exc


class Unavailable(DomainError):
    kind = "unavailable"


def log_broken(exc: log_tree.BrokenLog) -> Unavailable:
    # Not the caller's fault, but never a bare 500: the operator runs `tradesys verify log`.
    return Unavailable("log_broken", f"事件日志不完整，无法计算 (the event log is broken: {exc})")


@router.endpoint("GET", "/log/tree-head",
                 summary="事件日志签名树头 (the newest public signed tree head of the event log, "
                 "RFC 9162 Merkle tree)", tag="log", public=True)
async def log_tree_head(call: Call) -> Result:
    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        return (await _current(call, session)).as_json()

    return await call.read(work)


@router.endpoint("GET", "/log/key",
                 summary="树头签名公钥 (the Ed25519 public key that signs tree heads, PEM)",
                 tag="log", public=True, produces=PEM)
async def log_key(call: Call) -> Response:
    return PlainTextResponse(public_pem(_publisher(call).key))


@router.endpoint("GET", "/log/consistency",
                 summary="一致性证明 (RFC 9162 consistency proof between two tree sizes, up to "
                 "the newest public tree head)", tag="log", public=True, params=(FROM, TO))
async def log_consistency(call: Call) -> Result:
    first = _number(call, "from")
    if first is None:
        raise BadRequest("invalid_from", "缺少参数 from (from is required)")
    second = _number(call, "to")

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        public = (await _current(call, session)).head.tree_size
        last = public if second is None else second
        if last > public:
            raise _not_published(last, public)
        if first > last:
            raise BadRequest("invalid_from", "from 不能大于 to (from must not exceed to)")
        try:
            proof = ([] if first == 0 or first == last
                     else await log_tree.consistency_proof(session, first, last,
                                                     _publisher(call).subtrees))
        except log_tree.BrokenLog as exc:
            raise log_broken(exc) from exc
        return {"first": first, "second": last, "consistency_path": _hex(proof)}

    return await call.read(work)


@router.endpoint("GET", "/log/inclusion",
                 summary="包含证明 (RFC 9162 inclusion proof of event seq in a tree size, up to "
                 "the newest public tree head)", tag="log", public=True, params=(SEQ, SIZE))
async def log_inclusion(call: Call) -> Result:
    seq = _number(call, "seq", minimum=1)
    if seq is None:
        raise BadRequest("invalid_seq", "缺少参数 seq (seq is required)")
    size = _number(call, "size", minimum=1)

    async def work(session: AsyncSession, _principal: Principal | None) -> Result:
        public = (await _current(call, session)).head.tree_size
        tree_size = public if size is None else size
        if tree_size > public:
            raise _not_published(tree_size, public)
        if seq > tree_size:
            raise BadRequest("invalid_seq", f"事件 {seq} 不在大小为 {tree_size} 的树中 "
                             f"(event {seq} is not in the tree of size {tree_size})")
        try:
            path = await log_tree.inclusion_proof(session, seq - 1, tree_size,
                                                  _publisher(call).subtrees)
        except log_tree.BrokenLog as exc:
            raise log_broken(exc) from exc
        return {"seq": seq, "leaf_index": seq - 1, "tree_size": tree_size,
                "inclusion_path": _hex(path)}

    return await call.read(work)
