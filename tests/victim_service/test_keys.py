from victim_service.keys import KeyStore


def test_keys_are_hashed_and_checked(tmp_path):
    ks = KeyStore(tmp_path / "keys.db")
    token, key = ks.create(models=["a"], policy="top1", label="red team")
    assert token.startswith(f"mlr_{key.id}_")
    assert ks.authenticate(token) == key
    secret = token.split("_", 2)[2]
    assert secret.encode() not in (tmp_path / "keys.db").read_bytes()  # only the digest is stored
    for bad in (
        None,
        "",
        "nope",
        token + "x",
        token[:-1],
        f"mlr_{key.id}_",
        "mlr_ffffffffffff_" + secret,
    ):
        assert ks.authenticate(bad) is None
    assert key.allows("a") and not key.allows("b")
    assert ks.revoke(key.id) and ks.authenticate(token) is None
    assert not ks.revoke("ghost")


def test_keys_survive_reopen(tmp_path):
    token, key = KeyStore(tmp_path / "k.db").create()
    again = KeyStore(tmp_path / "k.db")
    assert again.authenticate(token).id == key.id and again.get(key.id).models is None
    assert [k.id for k in again.list()] == [key.id]


def _open_together(path, barrier, out):
    from budgets.ledger import open_ledger

    barrier.wait()
    try:
        KeyStore(path / "keys.db")
        open_ledger(f"sqlite:///{path / 'ledger.db'}")
        out.put("ok")
    except Exception as e:  # noqa: BLE001 - reported to the parent
        out.put(repr(e))


def test_fresh_databases_opened_by_workers_at_once(tmp_path):
    """gunicorn workers boot together on a fresh state folder: none may fail with
    'database is locked' while another switches the file to WAL (seen in the serving
    benchmark before the fix)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    for i in range(8):
        folder = tmp_path / str(i)
        barrier, out = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_together, args=(folder, barrier, out)) for _ in range(4)]
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join()
        assert results == ["ok"] * 4
