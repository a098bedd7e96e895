"""CapsNet (Sabour, Frosst & Hinton, "Dynamic Routing Between Capsules", NIPS 2017; method §1–2).

conv 256 (9×9, ReLU) → primary capsules: conv 9×9 stride 2 into 32 maps of 8-d capsules, squashed →
one 16-d capsule per class, computed by 3 iterations of routing by agreement. The body returns the
class capsules' lengths (``output_kind = LENGTHS``; soft-labels divide them by their sum, method §1).

Training uses the body's own loss, ``training_loss(x, y)``: margin loss (m⁺ 0.9, m⁻ 0.1, λ 0.5)
plus 0.1 × the mean squared error of a reconstruction of ``x`` by a decoder (dense 512 → 1024 →
C·H·W) from the true class's capsule, the other capsules masked to zero. ``x`` is the body's input,
i.e. the standardised image, so the decoder's last layer is linear rather than the paper's sigmoid
(our choice).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from advtransfer.constants import LENGTHS
from advtransfer.models import ARCHITECTURES
from advtransfer.models.cifar import require_size

PRIMARY_MAPS, PRIMARY_DIM, CLASS_DIM = 32, 8, 16


def squash(s: torch.Tensor, dim: int = -1, eps: float = 1e-9) -> torch.Tensor:
    """Sabour et al. eq. 1: v = ‖s‖² / (1 + ‖s‖²) · s / ‖s‖ (length in [0, 1), direction kept)."""
    sq = (s * s).sum(dim, keepdim=True)
    return sq / (1 + sq) * s / torch.sqrt(sq + eps)


def capsule_lengths(v: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """‖v_j‖ over the last dimension (a small ``eps`` keeps the gradient finite at 0)."""
    return torch.sqrt((v * v).sum(-1) + eps)


def dynamic_routing(u_hat: torch.Tensor, iterations: int = 3) -> torch.Tensor:
    """Routing by agreement (Sabour et al., Procedure 1).

    ``u_hat`` (B, I, J, D) holds input capsule i's prediction for class capsule j. Logits b start at
    0; each iteration: c = softmax_j(b), s_j = Σ_i c_ij û_j|i, v_j = squash(s_j), and (except after
    the last) b_ij += û_j|i · v_j. Returns v, shape (B, J, D).
    """
    if iterations < 1:
        raise ValueError("routing needs at least one iteration")
    b = u_hat.new_zeros(u_hat.shape[:3])
    for r in range(iterations):
        c = torch.softmax(b, dim=2)
        v = squash((c.unsqueeze(-1) * u_hat).sum(dim=1))
        if r < iterations - 1:
            b = b + (u_hat * v.unsqueeze(1)).sum(dim=-1)
    return v


def margin_loss(lengths: torch.Tensor, targets: torch.Tensor, m_pos: float = 0.9, m_neg: float = 0.1,
                lam: float = 0.5) -> torch.Tensor:
    """Sabour et al. eq. 4, summed over classes and averaged over the batch:
    L = Σ_k T_k max(0, m⁺ − ‖v_k‖)² + λ (1 − T_k) max(0, ‖v_k‖ − m⁻)².

    ``targets`` are class labels (B,) or target vectors (B, K) such as smoothed labels.
    """
    t = F.one_hot(targets, lengths.shape[1]).to(lengths.dtype) if targets.ndim == 1 else targets.to(lengths.dtype)
    loss = t * F.relu(m_pos - lengths) ** 2 + lam * (1 - t) * F.relu(lengths - m_neg) ** 2
    return loss.sum(dim=1).mean()


class CapsNet(nn.Module):
    output_kind = LENGTHS

    def __init__(self, in_channels: int, image_size: int, num_classes: int, routing_iterations: int = 3,
                 reconstruction_weight: float = 0.1):
        super().__init__()
        require_size("capsnet", image_size, 17)
        self.routing_iterations = routing_iterations
        self.reconstruction_weight = reconstruction_weight
        self.input_shape = (in_channels, image_size, image_size)
        self.conv1 = nn.Conv2d(in_channels, 256, 9)
        self.primary = nn.Conv2d(256, PRIMARY_MAPS * PRIMARY_DIM, 9, stride=2)
        side = (image_size - 8 - 9) // 2 + 1
        n_primary = PRIMARY_MAPS * side * side
        # W_ij maps primary capsule i's 8-d output to its 16-d prediction for class capsule j.
        self.weight = nn.Parameter(0.01 * torch.randn(n_primary, num_classes, CLASS_DIM, PRIMARY_DIM))
        self.decoder = nn.Sequential(
            nn.Linear(CLASS_DIM * num_classes, 512), nn.ReLU(inplace=True),
            nn.Linear(512, 1024), nn.ReLU(inplace=True),
            nn.Linear(1024, in_channels * image_size * image_size),
        )

    def capsules(self, x: torch.Tensor) -> torch.Tensor:
        """The class capsules v, shape (B, N, 16)."""
        u = self.primary(F.relu(self.conv1(x)))
        b, _, h, w = u.shape
        u = u.view(b, PRIMARY_MAPS, PRIMARY_DIM, h, w).permute(0, 1, 3, 4, 2).reshape(b, -1, PRIMARY_DIM)
        u_hat = torch.einsum("bid,ijed->bije", squash(u), self.weight)
        return dynamic_routing(u_hat, self.routing_iterations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return capsule_lengths(self.capsules(x))

    def reconstruct(self, v: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Decode the capsule of class ``labels`` (others masked to zero) into an input-shaped image."""
        mask = F.one_hot(labels, v.shape[1]).to(v.dtype).unsqueeze(-1)
        return self.decoder((v * mask).flatten(1)).view(-1, *self.input_shape)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Margin loss + ``reconstruction_weight`` × MSE(reconstruction, x) on the body's input ``x``.

        ``y``: labels (B,) or target vectors (B, N); the reconstruction uses the most likely target.
        """
        v = self.capsules(x)
        labels = y if y.ndim == 1 else y.argmax(dim=1)
        reconstruction = F.mse_loss(self.reconstruct(v, labels), x)
        return margin_loss(capsule_lengths(v), y) + self.reconstruction_weight * reconstruction


@ARCHITECTURES.register("capsnet")
def capsnet(in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    """CapsNet with 3 routing iterations; images must be at least 17×17 (two 9×9 convolutions)."""
    return CapsNet(in_channels, image_size, num_classes)
