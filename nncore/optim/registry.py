"""The optimizers and learning-rate schedules NN Canvas offers, each declared once.

:data:`OPTIMIZERS` and :data:`SCHEDULES` are :class:`~nncore.registry.Registry` s of
:class:`OptimizerInfo` / :class:`ScheduleInfo`: the engine class, a title for people, the
arguments as :class:`~nncore.spec.ParamSpec` s (PyTorch's names, defaults and ranges), a
one-line help and the paper. Everything else is generated from them: the ``nncore``
command's ``--optimizer`` choices and ``--optimizer-option`` parsing, the project
settings' validation (:class:`~nncore.project.settings.TrainingSettings`) and the training
panel's combo boxes, editors and tooltips.

A new optimizer is one declaration (plus its tests)::

    register_optimizer(OptimizerInfo(
        "lion", Lion, "Lion", (lr(1e-4), BETAS, WEIGHT_DECAY, MAXIMIZE),
        "Sign of an interpolated momentum", "Chen et al., 'Symbolic discovery of "
        "optimization algorithms' (NeurIPS 2023)"))

The arguments are checked by their specs (type and range, with a message naming the
setting) and then by the class itself (rules between arguments, such as Nesterov needing
a momentum), which raises PyTorch's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from nncore.optim import lr_scheduler
from nncore.optim.optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from nncore.registry import Registry
from nncore.spec import ParamSpec, validate_all

__all__ = ["OptimizerInfo", "ScheduleInfo", "OPTIMIZERS", "SCHEDULES",
           "register_optimizer", "register_schedule", "all_args", "lr", "WEIGHT_DECAY",
           "MAXIMIZE", "BETAS"]


# ---------------------------------------------------------------------------- entries
@dataclass(frozen=True)
class OptimizerInfo:
    """One optimizer as NN Canvas offers it.

    Attributes:
        name: the stable name saved in project files and typed on the command line
            (``"adam"``).
        cls: the :class:`~nncore.optim.Optimizer` subclass.
        title: the name shown to people (``"Adam"``).
        args: the keyword arguments a user may set, in the constructor's order, with
            PyTorch's defaults and ranges. A preset (``"momentum"``: SGD with momentum
            0.9) is the same class with other defaults.
        help: one line saying what it does.
        paper: the source of the algorithm.
    """

    name: str
    cls: type
    title: str
    args: tuple[ParamSpec, ...]
    help: str
    paper: str

    @property
    def specs(self) -> dict[str, ParamSpec]:
        """``name -> ParamSpec`` of the arguments."""
        return {s.name: s for s in self.args}

    def defaults(self) -> dict[str, Any]:
        """Every argument with its default."""
        return {s.name: s.default for s in self.args}

    def validate(self, options: Mapping[str, Any], path: str = "") -> dict[str, Any]:
        """``options`` checked and normalized (ints as floats, lists as tuples), with
        the defaults of the arguments not given.

        Raises:
            SpecError: for an unknown argument (listing the known ones) or a value of
                the wrong type or out of range, ``path`` naming where it sits.
        """
        return validate_all(self.args, options, path, self.title)

    def build(self, params: Iterable[Any], **options: Any) -> Any:
        """The optimizer over ``params`` (parameters or parameter groups): the options
        validated, the defaults of this entry filled in, then the class constructed
        (which checks the rules between arguments).

        Raises:
            SpecError: for an invalid option; ValueError/TypeError from the class.
        """
        return self.cls(params, **self.validate(options))


@dataclass(frozen=True)
class ScheduleInfo:
    """One learning-rate schedule.

    Attributes:
        name: the stable name saved in project files (``schedule["type"]``).
        cls: the scheduler class of :mod:`nncore.optim.lr_scheduler`.
        title: the name shown to people (``"Cosine"``).
        args: its arguments besides the optimizer, with the defaults NN Canvas uses
            (PyTorch's where it has one).
        help: one line saying what it does (the tooltip).
        paper: the source, where there is one.
    """

    name: str
    cls: type
    title: str
    args: tuple[ParamSpec, ...]
    help: str
    paper: str = ""

    @property
    def specs(self) -> dict[str, ParamSpec]:
        """``name -> ParamSpec`` of the arguments."""
        return {s.name: s for s in self.args}

    def defaults(self) -> dict[str, Any]:
        """Every argument with its default."""
        return {s.name: s.default for s in self.args}

    def validate(self, args: Mapping[str, Any], path: str = "") -> dict[str, Any]:
        """``args`` checked, with the defaults filled in (see :meth:`OptimizerInfo.validate`)."""
        return validate_all(self.args, args, path, f"the {self.title} schedule")

    def build(self, optimizer: Any, **args: Any) -> Any:
        """The scheduler of ``optimizer`` (arguments validated, defaults filled in)."""
        return self.cls(optimizer, **self.validate(args))


#: Every optimizer, in the order the lists show them.
OPTIMIZERS: Registry[OptimizerInfo] = Registry("optimizer")
#: Every learning-rate schedule ("no schedule", a constant rate, is not one: ``None``).
SCHEDULES: Registry[ScheduleInfo] = Registry("schedule")


def register_optimizer(info: OptimizerInfo) -> OptimizerInfo:
    """Add an optimizer under ``info.name``; it then appears in the command line, the
    settings and the training panel. Returns ``info``.

    Raises:
        ValueError: if the name is taken.
    """
    return OPTIMIZERS.register(info.name, info)


def register_schedule(info: ScheduleInfo) -> ScheduleInfo:
    """Add a schedule under ``info.name`` (see :func:`register_optimizer`)."""
    return SCHEDULES.register(info.name, info)


# ---------------------------------------------------------------------------- shared arguments
def lr(default: float) -> ParamSpec:
    """The learning rate with ``default`` (each optimizer has its own)."""
    return ParamSpec("lr", "float", default, "Step size of each update", label="Learning rate",
                     minimum=0.0, log=True)


def _eps(default: float, where: str) -> ParamSpec:
    return ParamSpec("eps", "float", default, f"Added {where} for numerical stability",
                     label="Epsilon", minimum=0.0, log=True)


WEIGHT_DECAY = ParamSpec(
    "weight_decay", "float", 0.0, "Pulls the weights towards 0: an L2 penalty added to the "
    "gradient", label="Weight decay", minimum=0.0, log=True)
MAXIMIZE = ParamSpec("maximize", "bool", False, "Climb the objective instead of descending it",
                     label="Maximize")
BETAS = ParamSpec(
    "betas", "floats", (0.9, 0.999), "β1, β2: decay rates of the running averages of the "
    "gradient and of its square", label="Betas", minimum=0.0, maximum=1.0,
    exclusive_max=True, length=2)
_MOMENTUM = ParamSpec("momentum", "float", 0.0, "Share of the previous update carried into "
                      "this one (0: none; 0.9 is common)", label="Momentum", minimum=0.0)
_DAMPENING = ParamSpec("dampening", "float", 0.0, "Scales down the gradient's share in the "
                       "momentum buffer (usually 0; Nesterov needs 0)", label="Dampening")
_NESTEROV = ParamSpec("nesterov", "bool", False, "Nesterov momentum: the gradient is taken a "
                      "step ahead along the momentum (needs momentum > 0 and dampening 0)",
                      label="Nesterov")
_AMSGRAD = ParamSpec("amsgrad", "bool", False, "Divide by the largest squared-gradient "
                     "average seen so far (Reddi et al., 2018)", label="AMSGrad")

_SGD_PAPER = ("Robbins & Monro, 'A stochastic approximation method' (1951); Sutskever et "
              "al., 'On the importance of initialization and momentum in deep learning' "
              "(ICML 2013) for Nesterov momentum")
_MOMENTUM_PAPER = ("Polyak, 'Some methods of speeding up the convergence of iteration "
                   "methods' (1964)")
_ADAM_PAPER = "Kingma & Ba, 'Adam: A method for stochastic optimization' (ICLR 2015)"


def _sgd_args(momentum: float) -> tuple[ParamSpec, ...]:
    return (lr(1e-3), _MOMENTUM.with_(default=momentum), _DAMPENING, WEIGHT_DECAY,
            _NESTEROV, MAXIMIZE)


# ---------------------------------------------------------------------------- optimizers
register_optimizer(OptimizerInfo(
    "sgd", SGD, "SGD", _sgd_args(0.0),
    "Stochastic gradient descent: a step against the gradient, optionally with momentum",
    _SGD_PAPER))
register_optimizer(OptimizerInfo(
    "momentum", SGD, "Momentum", _sgd_args(0.9),
    "SGD with momentum 0.9 (heavy ball): each step carries on 90% of the previous one",
    _MOMENTUM_PAPER))
register_optimizer(OptimizerInfo(
    "adagrad", Adagrad, "Adagrad",
    (lr(1e-2),
     ParamSpec("lr_decay", "float", 0.0, "The step is lr / (1 + (t - 1) · lr_decay) at step t",
               label="LR decay", minimum=0.0, log=True),
     WEIGHT_DECAY,
     ParamSpec("initial_accumulator_value", "float", 0.0, "Starting value of the sum of "
               "squared gradients", label="Initial sum", minimum=0.0),
     _eps(1e-10, "to the denominator, after the square root"), MAXIMIZE),
    "Per-weight step sizes that shrink with the sum of the squared gradients",
    "Duchi, Hazan & Singer, 'Adaptive subgradient methods for online learning and "
    "stochastic optimization', JMLR 12 (2011)"))
register_optimizer(OptimizerInfo(
    "rmsprop", RMSprop, "RMSprop",
    (lr(1e-2),
     ParamSpec("alpha", "float", 0.99, "Smoothing constant of the squared-gradient average",
               label="Alpha", minimum=0.0),
     _eps(1e-8, "to the denominator, after the square root"), WEIGHT_DECAY, _MOMENTUM,
     ParamSpec("centered", "bool", False, "Divide by the estimated variance of the gradient "
               "instead of its second moment", label="Centered"),
     MAXIMIZE),
    "Divide the gradient by a running root mean square of recent gradients",
    "Tieleman & Hinton, COURSERA 'Neural Networks for Machine Learning', lecture 6.5 "
    "(2012)"))
register_optimizer(OptimizerInfo(
    "adadelta", Adadelta, "Adadelta",
    (lr(1.0),
     ParamSpec("rho", "float", 0.9, "Decay rate of the running averages of squared gradients "
               "and updates", label="Rho", minimum=0.0, maximum=1.0),
     _eps(1e-6, "inside both square roots"), WEIGHT_DECAY, MAXIMIZE),
    "Step sizes from running averages of squared gradients and squared updates",
    "Zeiler, 'ADADELTA: An adaptive learning rate method', arXiv:1212.5701 (2012)"))
register_optimizer(OptimizerInfo(
    "adam", Adam, "Adam",
    (lr(1e-3), BETAS, _eps(1e-8, "to the denominator, after the square root"), WEIGHT_DECAY,
     _AMSGRAD, MAXIMIZE,
     ParamSpec("decoupled_weight_decay", "bool", False, "Decay the weights directly instead "
               "of through the gradient (makes Adam into AdamW)", label="Decoupled")),
    "Adaptive moment estimation: momentum and per-weight step sizes, bias-corrected",
    _ADAM_PAPER))
register_optimizer(OptimizerInfo(
    "adamw", AdamW, "AdamW",
    (lr(1e-3), BETAS, _eps(1e-8, "to the denominator, after the square root"),
     WEIGHT_DECAY.with_(default=1e-2, help="Pulls the weights towards 0: subtracted from "
                        "the weights directly ('decoupled'), not added to the gradient"),
     _AMSGRAD, MAXIMIZE),
    "Adam with decoupled weight decay: the decay shrinks the weights, apart from the "
    "gradient statistics",
    "Loshchilov & Hutter, 'Decoupled weight decay regularization' (ICLR 2019)"))


# ---------------------------------------------------------------------------- schedules
_GAMMA = ParamSpec("gamma", "float", 0.1, "Factor the learning rate is multiplied by",
                   label="Gamma", minimum=0.0, exclusive_min=True)

register_schedule(ScheduleInfo(
    "step", lr_scheduler.StepLR, "Step",
    (ParamSpec("step_size", "int", 10, "Epochs between two multiplications by gamma",
               label="Step size", minimum=1),
     _GAMMA.with_(help="Factor the learning rate is multiplied by every step size epochs")),
    "StepLR: multiply the learning rate by gamma every step size epochs"))
register_schedule(ScheduleInfo(
    "exponential", lr_scheduler.ExponentialLR, "Exponential",
    (_GAMMA.with_(default=0.95, help="Factor the learning rate is multiplied by every epoch"),),
    "ExponentialLR: multiply the learning rate by gamma every epoch"))
register_schedule(ScheduleInfo(
    "cosine", lr_scheduler.CosineAnnealingLR, "Cosine",
    (ParamSpec("T_max", "int", 50, "T_max: epochs from the initial learning rate down to the "
               "minimum along half a cosine", label="Period", minimum=1),
     ParamSpec("eta_min", "float", 0.0, "eta_min: the learning rate at the end of the cosine",
               label="Minimum lr", minimum=0.0, log=True)),
    "CosineAnnealingLR: follow half a cosine from the learning rate down to the minimum "
    "over the period",
    "Loshchilov & Hutter, 'SGDR: Stochastic gradient descent with warm restarts' (ICLR 2017)"))
register_schedule(ScheduleInfo(
    "plateau", lr_scheduler.ReduceLROnPlateau, "On plateau",
    (ParamSpec("factor", "float", 0.1, "Multiply the learning rate by this when the loss "
               "stops improving", label="Factor", minimum=0.0, maximum=1.0,
               exclusive_max=True),
     ParamSpec("patience", "int", 10, "Epochs without improvement before the rate is reduced",
               label="Patience", minimum=0),
     ParamSpec("threshold", "float", 1e-4, "Relative improvement that counts as one",
               label="Threshold", minimum=0.0, log=True),
     ParamSpec("min_lr", "float", 0.0, "The learning rate is never reduced below this",
               label="Minimum lr", minimum=0.0, log=True)),
    "ReduceLROnPlateau: multiply the learning rate by the factor when the validation loss "
    "stops improving"))


def all_args(registry: Registry[Any]) -> dict[str, ParamSpec]:
    """Every argument name of a registry's members -> its first declaration, ordered so
    that each member's own order is kept where possible (for forms that hold one editor
    per name and show the current member's rows)."""
    order: list[str] = []
    first: dict[str, ParamSpec] = {}
    for info in registry.values():
        previous = None
        for spec in info.args:
            if spec.name not in first:
                first[spec.name] = spec
                at = order.index(previous) + 1 if previous is not None else len(order)
                order.insert(at, spec.name)
            previous = spec.name
    return {name: first[name] for name in order}

