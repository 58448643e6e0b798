"""Two couriers claiming one parcel at the same moment: exactly one wins, on either engine."""

import threading

import requests


def test_two_couriers_claim_the_same_parcels_at_once(live_server, make):
    codes = [make.parcel() for _ in range(12)]
    tokens = {u: make.token(u) for u in ("nva", "ttb")}
    results: dict[tuple[str, str], str] = {}
    for code in codes:
        start = threading.Barrier(2)

        def claim(username: str, code: str = code, start: threading.Barrier = start) -> None:
            start.wait()
            r = requests.post(f"{live_server}/api/v1/scans", json={"scans": [make.scan(code, "pickup")]},
                              headers=tokens[username], timeout=30)
            results[(code, username)] = r.json()["results"][0]["status"]

        threads = [threading.Thread(target=claim, args=(u,)) for u in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for code in codes:
        statuses = sorted(results[(code, u)] for u in tokens)
        assert statuses == ["accepted", "rejected"], (code, statuses)
        winner = next(u for u in tokens if results[(code, u)] == "accepted")
        assert make.holder_of(code) == winner


def test_concurrent_batches_keep_one_unbroken_chain(live_server, make, app):
    from click.testing import CliRunner

    from postal.cli import cli

    codes = [make.parcel() for _ in range(20)]
    headers = make.token("nva")

    def send(chunk: list[str]) -> None:
        requests.post(f"{live_server}/api/v1/scans", json={"scans": [make.scan(c, "pickup") for c in chunk]},
                      headers=headers, timeout=30).raise_for_status()

    threads = [threading.Thread(target=send, args=(codes[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {make.holder_of(c) for c in codes} == {"nva"}
    url = app.extensions["postal.settings"].database_url
    result = CliRunner().invoke(cli, ["verify-ledger"], env={"DATABASE_URL": url})
    assert result.exit_code == 0 and "40 events intact" in result.output, result.output


def test_a_parcel_held_by_one_batch_does_not_hold_up_another_parcel(live_server, make, app):
    """PostgreSQL: a transaction holding one parcel's row (as a batch judging it does) keeps that parcel's scans
    waiting, never another parcel's; SQLite (one writer): the same batches still leave one unbroken chain."""
    from click.testing import CliRunner
    from sqlalchemy import create_engine, text

    from postal.cli import cli

    held, free = make.parcel(), make.parcel()
    headers = {u: make.token(u) for u in ("nva", "ttb")}
    url = app.extensions["postal.settings"].database_url
    answers: dict[str, str] = {}

    def claim(username: str, code: str) -> None:
        r = requests.post(f"{live_server}/api/v1/scans", json={"scans": [make.scan(code, "pickup")]},
                          headers=headers[username], timeout=30)
        answers[username + code] = r.json()["results"][0]["status"]

    postgres = url.startswith("postgresql")
    engine = create_engine(url)
    try:
        with engine.connect() as holder:
            if postgres:  # another batch in the middle of judging this parcel
                holder.execute(text("SELECT id FROM parcel WHERE code = :c FOR UPDATE"), {"c": held})
            waiting = [threading.Thread(target=claim, args=(u, held)) for u in headers]
            for t in waiting:
                t.start()
            claim("nva", free)  # another parcel: answered while the first is held
            assert answers["nva" + free] == "accepted"
            if postgres:
                waiting[0].join(1.0)
                assert not any(u + held in answers for u in headers), "the held parcel's scans went on"
            holder.rollback()
        for t in waiting:
            t.join()
    finally:
        engine.dispose()
    assert sorted(answers[u + held] for u in headers) == ["accepted", "rejected"]
    result = CliRunner().invoke(cli, ["verify-ledger"], env={"DATABASE_URL": url})
    assert result.exit_code == 0 and "4 events intact" in result.output  # two made, two picked up, result.output
