"""Recall: the user's earlier turns, from any conversation, nearest in meaning to a request.

Transformer-XL carries a memory of earlier segments into the next; here the generator's window of recent
turns is extended with the few earlier turns that matter to the request. Each stored turn may have a
sentence vector (`TurnVector`, written with the turn); a recall reads the user's vectors in one short read,
scores them by cosine in numpy (the same on SQLite and PostgreSQL, no extension needed) and reads the texts
of the best few. Vectors are normalised float16 (768 bytes for MiniLM's 384 dimensions), so 10,000 turns
are under 8 MB and a few milliseconds of arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select

from assistant.memory.db import Database
from assistant.memory.models import Turn, TurnVector

MAX_SCANNED = 20_000  # the newest vectors a recall scores: older ones are out of reach, not an error
CANDIDATES_PER_TURN = 4  # texts read per recalled turn, to drop repeats and re-rank
QUESTION_PENALTY = 0.1  # a request that was itself a question rarely holds a detail about the user
BACKFILL = (
    16  # turns without a vector (skill turns, turns from before recall) encoded per recall, newest first
)


@dataclass(frozen=True)
class RecalledTurn:
    """An earlier turn brought back for a request."""

    turn_id: int
    conversation_id: int
    user_text: str
    reply_text: str
    created_at: datetime
    score: float  # cosine of the request's vector and this turn's


def pack_vector(vector: np.ndarray) -> bytes:
    """A vector as stored: unit length, float16."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("a turn vector must be finite and non-zero")
    return (vector / norm).astype(np.float16).tobytes()


def unpack_vectors(blobs: list[bytes], dim: int) -> np.ndarray:
    """Stored vectors [N, dim] as float32; a row of another size (another encoder) is left as zeros."""
    out = np.zeros((len(blobs), dim), np.float32)
    for row, blob in enumerate(blobs):
        if len(blob) == 2 * dim:
            out[row] = np.frombuffer(blob, dtype=np.float16)
    return out


@dataclass
class Recall:
    """What one recall found, and the vectors it made for turns that had none (for the caller to store
    with the turn it is about to write: `append_turn(..., backfill=recall.fresh)`)."""

    turns: list[RecalledTurn]
    fresh: list[tuple[int, np.ndarray]] = field(default_factory=list)


class TurnRecall:
    """The `Memory` half that stores and searches turn vectors (mixed into `Memory`)."""

    db: Database

    def add_turn_vector(self, user_id: int, turn_id: int, vector: np.ndarray) -> bool:
        """Store the vector of a turn of this user's; False when the turn is not theirs."""
        blob = pack_vector(vector)
        with self.db.write() as session:
            owner = session.scalar(select(Turn.user_id).where(Turn.id == turn_id))
            if owner != user_id:
                return False
            row = session.get(TurnVector, turn_id)
            if row is None:
                session.add(TurnVector(turn_id=turn_id, user_id=user_id, vector=blob))
            else:
                row.vector = blob
            return True

    def recall_turns(
        self,
        user_id: int,
        query: np.ndarray,
        k: int = 3,
        exclude: Collection[int] = (),
        min_score: float = 0.0,
    ) -> list[RecalledTurn]:
        """The user's `k` earlier turns nearest to `query` (cosine at least `min_score`), best first,
        leaving out the turns in `exclude` (the recent window the prompt already has). One read."""
        return self.recall(user_id, query, k, exclude, min_score).turns

    def recall(
        self,
        user_id: int,
        query: np.ndarray,
        k: int = 3,
        exclude: Collection[int] = (),
        min_score: float = 0.0,
        encode: Callable[[list[str]], np.ndarray] | None = None,
    ) -> Recall:
        """`recall_turns`, and given `encode` (texts -> unit vectors), the newest `BACKFILL` turns of the
        user's that have no vector yet are encoded in the same read and searched too. Skill turns are
        stored without one, so a skill turn pays nothing for recall; the next generated turn catches up."""
        result = Recall([])
        if k <= 0:
            return result
        query = np.asarray(query, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(query))
        if not np.isfinite(norm) or norm == 0.0:
            return result
        query = query / norm
        excluded = set(exclude)
        with self.db.read() as session:
            rows = session.execute(
                select(TurnVector.turn_id, TurnVector.vector)
                .where(TurnVector.user_id == user_id)
                .order_by(TurnVector.turn_id.desc())
                .limit(MAX_SCANNED)
            ).all()
            vectors = unpack_vectors([blob for _, blob in rows], query.size)
            ids = [turn_id for turn_id, _ in rows]
            if encode is not None:
                missing = session.execute(
                    select(Turn.id, Turn.user_text)
                    .outerjoin(TurnVector, TurnVector.turn_id == Turn.id)
                    .where(Turn.user_id == user_id, TurnVector.turn_id.is_(None))
                    .order_by(Turn.id.desc())
                    .limit(BACKFILL)
                ).all()
                if missing:
                    made = np.asarray(encode([text for _, text in missing]), dtype=np.float32)
                    result.fresh = [(turn_id, made[i]) for i, (turn_id, _) in enumerate(missing)]
                    vectors = np.concatenate([vectors, made.reshape(len(missing), -1)])
                    ids += [turn_id for turn_id, _ in missing]
            keep = [i for i, turn_id in enumerate(ids) if turn_id not in excluded]
            if not keep:
                return result
            ids = [ids[i] for i in keep]
            scores = vectors[keep] @ query
            order = np.argsort(-scores, kind="stable")[: CANDIDATES_PER_TURN * k]
            wanted = [ids[i] for i in order if scores[i] >= min_score]
            if not wanted:
                return result
            turns = {
                row.id: row
                for row in session.scalars(select(Turn).where(Turn.id.in_(wanted), Turn.user_id == user_id))
            }
        found: list[RecalledTurn] = []
        for i in order:
            row = turns.get(ids[i])
            if row is None:
                continue
            score = float(scores[i]) - (QUESTION_PENALTY if row.user_text.rstrip().endswith("?") else 0.0)
            if score >= min_score:
                found.append(
                    RecalledTurn(
                        row.id, row.conversation_id, row.user_text, row.reply_text, row.created_at, score
                    )
                )
        found.sort(key=lambda turn: -turn.score)
        seen: set[str] = set()
        unique = []
        for turn in found:  # the same words said twice ("how are you?") are one memory
            key = " ".join(turn.user_text.lower().split())
            if key not in seen:
                seen.add(key)
                unique.append(turn)
        result.turns = unique[:k]
        return result
