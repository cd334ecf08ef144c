"""A remote server's model in an experiment and in an arena pair, through the runs' own engine adapters,
against llama-cpp-python's own server."""

from __future__ import annotations

import pytest

from desktop.core.arena.contenders import check_contenders, make_contender
from desktop.core.arena.pairing import plan_matches
from desktop.core.arena.runner import generate_answers
from desktop.core.experiments.errors import SpecError
from desktop.core.experiments.records import experiment_records
from desktop.core.experiments.runner import run_experiment, start_experiment
from desktop.core.experiments.spec import parse_spec
from desktop.core.experiments.store import FINISHED, ExperimentStore
from desktop.core.models.remote import RemoteSources
from desktop.core.text.remote import PARAMETER_KEY
from tests.support.remote_servers import API_KEY, start_llama_server, stop


@pytest.fixture(scope="module")
def llama_server(smollm2):
    server = start_llama_server(smollm2)
    yield server
    stop(server)


@pytest.fixture
def remote_ref(llama_server, keyring_backend):
    keyring_backend("working")
    return RemoteSources().add(llama_server.url, name="llama", api_key=API_KEY,
                               models=[llama_server.model]).ref(llama_server.model)


@pytest.mark.slow
def test_an_experiment_runs_its_cells_on_the_remote_model(history, remote_ref, llama_server):
    spec = parse_spec({"name": "remote sweep", "kind": "text",
                       "fixed": {"model": remote_ref, "prompt": "Name a colour.", "max_tokens": 6, "seed": 7},
                       "axes": {"temperature": [0.0, 0.9]}})
    experiments = ExperimentStore.beside(history)
    experiment = start_experiment(spec, experiments)
    summary = run_experiment(experiment.id, experiments=experiments, history=history)
    assert summary.status == FINISHED and summary.done == 2 and not summary.failed
    records = experiment_records(history, experiment.id)
    assert [r.parameters["temperature"] for r in records] == [0.0, 0.9]
    for record in records:
        assert record.device == f"remote:{llama_server.host}" and record.output_text
        assert record.parameters[PARAMETER_KEY]["served_model"] == llama_server.model


def test_a_sweep_naming_an_unknown_remote_source_is_refused_before_it_runs():
    with pytest.raises(SpecError, match="no remote source named 'gone'"):
        parse_spec({"kind": "text", "fixed": {"model": "remote:gone/m", "prompt": "Hi"}})


@pytest.mark.slow
def test_an_arena_pair_of_the_local_file_and_the_same_model_served_remotely(history, remote_ref, llama_server,
                                                                           smollm2):
    local = make_contender("text", str(smollm2))
    remote = make_contender("text", remote_ref)
    check_contenders([local, remote])  # distinct: another key and another label
    assert remote.label.endswith("@ llama [remote]") and remote.label != local.label
    matches = plan_matches([local, remote], ["Name a colour."], order_seed=1, seed=5)
    run = generate_answers(matches, history=history, session_id="arena-r", common={"max_tokens": 6})
    assert run.generated == 2 and run.failed == 0
    by_label = {m.answer_of(c).record.parameters["arena"]["contender"]: m.answer_of(c).record
                for m in matches for c in m.contenders()}
    assert by_label[remote.label].device == f"remote:{llama_server.host}"
    assert not by_label[local.label].device.startswith("remote:")
    assert by_label[local.label].seed == by_label[remote.label].seed == 5


def test_a_remote_model_on_a_sweep_axis_is_labelled_with_its_server_and_the_remote_badge():
    source = RemoteSources().add("http://127.0.0.1:9/v1", name="box", models=["/models/llama.gguf"])
    spec = parse_spec({"kind": "text", "fixed": {"prompt": "Hi"},
                       "axes": {"model": [source.ref("/models/llama.gguf")]}})  # nothing asks the server
    axis = spec.axis("model")
    assert axis is not None and axis.label(axis.values[0]) == "llama @ box [remote]"
