"""The SCRA forward as it was before the in-place scaling and masking (the oracle of
``tests/test_exact_speed.py``: the current :class:`radseg.core.scra.SCRAttention` must give
the same bits)."""
import torch.nn.functional as F


def scra_forward_previous(self, x):
    """``self``: a :class:`radseg.core.scra.SCRAttention` (its weights and settings); exact mode."""
    B, N, C = x.shape
    h = self.num_heads
    d = C // h
    qkv = self.qkv(x).reshape(B, N, 3, h, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    attn = (q @ k.transpose(-2, -1)) * (d ** -0.5)
    attn = self.attn_drop(attn.softmax(dim=-1))
    o = attn @ v
    o = o.transpose(1, 2).reshape(B, N, C)
    o = self.proj_drop(self.proj(o))
    oh = F.normalize(o.reshape(B, N, h, d).transpose(1, 2), dim=-1)
    sim = (oh @ oh.transpose(-2, -1)) * self.scaling
    sim = sim.masked_fill(sim < 0, float("-inf")).softmax(dim=-1)
    out = (sim @ v).transpose(1, 2).reshape(B, N, C)
    return self.proj_drop(self.proj(out))
