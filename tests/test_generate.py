from harness.backends.cache import Cache
from harness.backends.hf_generate import generate
from harness.tasks.load import load_task


def _prompts(handle, n=6):
    task = load_task("summarization", limit=n)
    return [handle.render(task.messages(ex)) for ex in task.split("test")]


def test_batched_generation_matches_one_at_a_time(tiny_handle):
    prompts = _prompts(tiny_handle)
    batched = generate(tiny_handle, prompts, max_new_tokens=8, batch_size=4)
    single = [generate(tiny_handle, [p], max_new_tokens=8, batch_size=1)[0] for p in prompts]
    assert [g.text for g in batched] == [g.text for g in single]
    assert all(g.tokens_in > 0 and 0 < g.tokens_out <= 8 for g in batched)


def test_cache_answers_a_rerun_without_model_work(tiny_handle, tmp_path, monkeypatch):
    cache = Cache(tmp_path / "c.sqlite")
    prompts = _prompts(tiny_handle, 3)
    first = generate(tiny_handle, prompts, max_new_tokens=5, cache=cache)
    monkeypatch.setattr(tiny_handle.model, "generate", lambda *a, **k: (_ for _ in ()).throw(AssertionError("model ran")))
    second = generate(tiny_handle, prompts, max_new_tokens=5, cache=cache)
    assert [g.text for g in first] == [g.text for g in second] and all(g.cached for g in second)
    # another adapter fingerprint is another key: the model must run again
    try:
        generate(tiny_handle, prompts, max_new_tokens=5, cache=cache, adapter="lora-x")
        ran = False
    except AssertionError:
        ran = True
    assert ran


def test_overlong_inputs_are_truncated_and_flagged(tiny_handle):
    long_prompt = "Report : " + " ".join(["the"] * 700)
    gen = generate(tiny_handle, [long_prompt], max_new_tokens=4)[0]
    assert gen.truncated


def test_tokens_in_counts_the_tokens_sent_after_truncation(tiny_handle):
    """The cost ledger counts what the model read: a cut prompt counts the window left after the answer's tokens."""
    long_prompt = "Report : " + " ".join(["the"] * 700)
    gen = generate(tiny_handle, [long_prompt], max_new_tokens=4)[0]
    assert gen.truncated and gen.tokens_in == tiny_handle.context_length - 4


def test_shared_prefix_is_prefilled_once_and_changes_nothing(tiny_handle, monkeypatch):
    import harness.backends.hf_generate as G

    prompts = _prompts(tiny_handle, 5)
    calls = []
    real_get = G.PrefixCache.get
    monkeypatch.setattr(G.PrefixCache, "get", lambda self, prefix: calls.append(len(prefix)) or real_get(self, prefix))
    shared = generate(tiny_handle, prompts, max_new_tokens=6, batch_size=2)
    assert calls and min(calls) >= G.MIN_SHARED_PREFIX  # the instruction is the common start of every prompt
    monkeypatch.setattr(G, "MIN_SHARED_PREFIX", 10**9)
    plain = generate(tiny_handle, prompts, max_new_tokens=6, batch_size=2)
    assert [g.text for g in shared] == [g.text for g in plain]
    assert G.common_prefix([[1, 2, 3, 4], [1, 2, 5]]) == 2 and G.common_prefix([[1, 2], [1, 2]]) == 1
