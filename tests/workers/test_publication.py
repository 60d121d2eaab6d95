"""publish_document / redrive_unstreamed against a real outbox, database (SQLite, PostgreSQL) and Redis."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from declscan.config.settings import Settings
from declscan.models.document import FormDocument, Issue
from declscan.models.record import Declaration, Project, PublishedRecord, Review, Source
from declscan.workers.db import DocumentRow, PublicationRow
from declscan.workers.publisher import publish_document, redrive_unstreamed

pytestmark = pytest.mark.service

DOC_ID = "5e" * 32


def form_document(name: str, *, doc_id: str = DOC_ID, flag: str | None = None) -> FormDocument:
    issues = (Issue(pointer=flag, code="low_confidence", message="OCR unsure"),) if flag else ()
    return FormDocument(
        document_id=doc_id,
        source=Source(filename="申报表.pdf", sha256=doc_id, pages=1, received_at="2024-01-26T09:00:00Z"),
        declaration=Declaration(project=Project(name=name)),
        issues=issues,
    )


def add_document(sessions: sessionmaker, doc: FormDocument, **review: Any) -> None:
    with sessions.begin() as session:
        session.add(DocumentRow(id=doc.document_id, filename=doc.source.filename, stored_path="/store/x.pdf",
                                state="awaiting_review", document=doc.model_dump(mode="json"),
                                flagged=doc.flagged, **review))


def edit_document(sessions: sessionmaker, doc_id: str, **values: Any) -> None:
    with sessions.begin() as session:
        session.execute(update(DocumentRow).where(DocumentRow.id == doc_id).values(**values))


def publications(sessions: sessionmaker) -> list[tuple[str, int, str | None]]:
    with sessions() as session:
        rows = session.scalars(select(PublicationRow).order_by(PublicationRow.id)).all()
        return [(r.document_id, r.version, r.stream_id) for r in rows]


def stream(client: redis.Redis, settings: Settings) -> list[dict[str, str]]:
    return [{k.decode(): v.decode() for k, v in fields.items()}
            for _, fields in client.xrange(settings.published_stream)]


def publish(sessions: sessionmaker, settings: Settings, client: redis.Redis, doc_id: str = DOC_ID,
            **kwargs: Any) -> int | None:
    return publish_document(sessions=sessions, settings=settings, redis_client=client, document_id=doc_id,
                            **kwargs)


def test_publish_writes_one_file_one_stream_entry_one_row(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis
) -> None:
    add_document(sessions, form_document("科技服务中心运行经费"), reviewed_by=["王敏"])

    assert publish(sessions, settings, redis_client) == 1

    path = (settings.outbox / f"{DOC_ID}-v1.json").resolve()
    assert list(settings.outbox.iterdir()) == [path]
    text = path.read_text(encoding="utf-8")
    assert "科技服务中心运行经费" in text, "UTF-8, not \\u escapes"
    record = PublishedRecord.model_validate(json.loads(text))
    assert record.project.name == "科技服务中心运行经费"
    assert record.review.reviewed_by == ["王敏"] and record.review.published_at.endswith("Z")
    assert list(json.loads(text)) == list(record.to_json_dict()), "contract key order"
    [entry] = stream(redis_client, settings)
    assert entry == {"document_id": DOC_ID, "version": "1", "path": str(path), "json": text}
    [(doc_id, version, stream_id)] = publications(sessions)
    assert (doc_id, version) == (DOC_ID, 1)
    assert stream_id == redis_client.xrange(settings.published_stream)[0][0].decode()
    with sessions() as session:
        row = session.get_one(DocumentRow, DOC_ID)
        assert (row.published_version, row.state) == (1, "published")


@pytest.mark.parametrize("resolution", ["confirmed", "corrected"])
def test_refused_while_a_flag_is_unresolved_then_published_once_resolved(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
    resolution: str,
) -> None:
    add_document(sessions, form_document("甲", flag="/project/name"))

    assert publish(sessions, settings, redis_client) is None
    assert "1 flagged field(s) neither confirmed nor corrected: /project/name" in caplog.text
    assert not settings.outbox.exists()
    assert publications(sessions) == [] and stream(redis_client, settings) == []

    edit_document(sessions, DOC_ID, confirmed=[], corrected=[], reviewed_by=["李"])
    assert publish(sessions, settings, redis_client) is None
    edit_document(sessions, DOC_ID, **{resolution: ["/project/name"]})
    assert publish(sessions, settings, redis_client) == 1
    record = json.loads((settings.outbox / f"{DOC_ID}-v1.json").read_text(encoding="utf-8"))
    assert record["review"]["flagged"] == ["/project/name"], "the published record still lists the flag"


def test_a_flag_raised_only_in_the_document_issues_also_blocks(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis
) -> None:
    add_document(sessions, form_document("甲", flag="/project/name"))
    edit_document(sessions, DOC_ID, flagged=[])  # the row's list lags behind the document
    assert publish(sessions, settings, redis_client) is None


def test_a_correction_makes_a_new_version_and_an_unchanged_record_none(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis
) -> None:
    add_document(sessions, form_document("甲"))
    assert publish(sessions, settings, redis_client) == 1
    assert publish(sessions, settings, redis_client) is None, "nothing changed: no second version"

    corrected = form_document("乙")
    edit_document(sessions, DOC_ID, document=corrected.model_dump(mode="json"), corrected=["/project/name"])
    assert publish(sessions, settings, redis_client) == 2

    assert sorted(p.name for p in settings.outbox.iterdir()) == [f"{DOC_ID}-v1.json", f"{DOC_ID}-v2.json"]
    v2 = json.loads((settings.outbox / f"{DOC_ID}-v2.json").read_text(encoding="utf-8"))
    assert (v2["project"]["name"], v2["review"]["corrected"]) == ("乙", ["/project/name"])
    assert [e["version"] for e in stream(redis_client, settings)] == ["1", "2"]
    assert [v for _, v, _ in publications(sessions)] == [1, 2]


def test_an_explicit_record_is_published_with_its_stamp(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis
) -> None:
    doc = form_document("甲")
    add_document(sessions, doc)
    record = PublishedRecord(document_id=DOC_ID, source=doc.source, project=Project(name="丙"),
                             review=Review(reviewed_by=["赵"]))
    assert publish(sessions, settings, redis_client, record=record) == 1
    published = json.loads((settings.outbox / f"{DOC_ID}-v1.json").read_text(encoding="utf-8"))
    assert published["project"]["name"] == "丙" and published["review"]["published_at"]
    with pytest.raises(ValueError):
        publish(sessions, settings, redis_client, doc_id="0" * 64, record=record)


def test_unknown_or_unmapped_documents_are_not_published(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis
) -> None:
    assert publish(sessions, settings, redis_client, doc_id="1" * 64) is None
    unmapped = form_document("甲").model_copy(update={"declaration": None})
    add_document(sessions, unmapped)
    assert publish(sessions, settings, redis_client) is None
    assert publications(sessions) == []


@pytest.mark.parametrize("round_", range(3))
def test_racing_publishers_publish_a_version_once(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis, round_: int
) -> None:
    add_document(sessions, form_document("甲"))
    start = threading.Barrier(2)
    results: list[int | None] = []

    def publisher() -> None:
        start.wait()
        results.append(publish(sessions, settings, redis_client))

    threads = [threading.Thread(target=publisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results, key=str) == [1, None]
    assert len(publications(sessions)) == 1
    assert len(stream(redis_client, settings)) == 1
    assert [p.name for p in settings.outbox.iterdir()] == [f"{DOC_ID}-v1.json"]


def test_a_publication_interrupted_before_the_stream_is_finished_by_redrive(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis
) -> None:
    add_document(sessions, form_document("甲"))
    dead_redis = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.ConnectionError):
        publish(sessions, settings, dead_redis)
    [(_, version, stream_id)] = publications(sessions)
    assert (version, stream_id) == (1, None)
    assert stream(redis_client, settings) == []
    path = settings.outbox / f"{DOC_ID}-v1.json"
    path.unlink()  # as if the crash came before the file, too

    assert redrive_unstreamed(sessions=sessions, settings=settings, redis_client=redis_client) == 1
    assert redrive_unstreamed(sessions=sessions, settings=settings, redis_client=redis_client) == 0
    [entry] = stream(redis_client, settings)
    assert entry["json"] == path.read_text(encoding="utf-8")
    assert publications(sessions)[0][2] is not None
    assert publish(sessions, settings, redis_client) is None, "v1 stands: nothing changed"


def test_redrive_after_a_crash_between_stream_and_row_adds_no_second_entry(
    settings: Settings, sessions: sessionmaker, redis_client: redis.Redis
) -> None:
    add_document(sessions, form_document("甲"))
    publish(sessions, settings, redis_client)
    [(_, _, first_id)] = publications(sessions)
    with sessions.begin() as session:  # the crash lost the row's update, not the stream entry
        session.execute(update(PublicationRow).values(stream_id=None))

    assert redrive_unstreamed(sessions=sessions, settings=settings, redis_client=redis_client) == 1
    assert len(stream(redis_client, settings)) == 1
    assert publications(sessions) == [(DOC_ID, 1, first_id)]


def test_outbox_paths_are_absolute(settings: Settings, sessions: sessionmaker, redis_client: redis.Redis,
                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    relative = settings.model_copy(update={"data_dir": Path("var")})
    add_document(sessions, form_document("甲"))
    publish(sessions, relative, redis_client)
    expected = tmp_path / "var" / "outbox" / f"{DOC_ID}-v1.json"
    assert Path(stream(redis_client, relative)[0]["path"]) == expected
