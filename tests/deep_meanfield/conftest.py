"""Part II tests use small tensors: run them with one torch thread (restored afterwards).

On a busy 2-core machine an OpenMP pool of 2 threads adds about a millisecond to every small elementwise op,
which made the batched-training tests an order of magnitude slower.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
