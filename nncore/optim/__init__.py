"""Optimizers and learning-rate schedules, with PyTorch's names, defaults and formulas.

::

    from nncore import optim
    opt = optim.AdamW(optim.param_groups_for_weight_decay(model, 0.05), lr=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=50)   # or optim.CosineAnnealingLR
    for epoch in range(50):
        for x, y in batches:
            loss = F.cross_entropy(model(Tensor(x)), y)
            opt.zero_grad(); loss.backward(); opt.step()
        sched.step()

:mod:`nncore.optim.optimizers` holds the optimizers, :mod:`nncore.optim.lr_scheduler`
the schedules; both are re-exported here. :mod:`nncore.optim.registry` declares the ones
NN Canvas offers (:data:`OPTIMIZERS`, :data:`SCHEDULES`: titles, arguments as ParamSpecs
with PyTorch's defaults and ranges, help, papers), from which the command line, the
project settings and the training panel are generated.
"""

from nncore.optim import lr_scheduler
from nncore.optim.lr_scheduler import (CosineAnnealingLR, ExponentialLR, LRScheduler,
                                       ReduceLROnPlateau, StepLR)
from nncore.optim.optimizers import (SGD, Adadelta, Adagrad, Adam, AdamW, Optimizer,
                                     RMSprop, param_groups_for_weight_decay)
from nncore.optim.registry import (OPTIMIZERS, SCHEDULES, OptimizerInfo, ScheduleInfo,
                                   register_optimizer, register_schedule)

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
    "param_groups_for_weight_decay", "lr_scheduler", "LRScheduler", "StepLR",
    "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau", "OPTIMIZERS", "SCHEDULES",
    "OptimizerInfo", "ScheduleInfo", "register_optimizer", "register_schedule",
]
