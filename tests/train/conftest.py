"""Shared set-up for the training tests."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``.

    These tensors are tiny: extra intra-op threads only spin (and crawl on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
