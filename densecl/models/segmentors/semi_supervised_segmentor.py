"""A student segmentor and its EMA teacher: the supervised-only baseline of the
semi-supervised methods and the base they share."""
import torch
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import add_prefix
from torch.nn.modules.batchnorm import _BatchNorm

from ...engine.checkpoint import state_dict_mismatch
from ..heads import ContrastHead

BRANCHES = ('student', 'teacher')
TEACHER_OPTIONS = dict(teacher_type=('ema', 'online'), teacher_mode=('eval', 'train'),
                       teacher_buffers=('ema', 'copy', 'own'))


def scale_losses(losses, weight):
    """``losses`` with every ``loss*`` entry multiplied by ``weight`` (metrics kept)."""
    return {key: value * weight if 'loss' in key else value for key, value in losses.items()}


@MODELS.register_module()
class SemiSupervisedSegmentor(BaseModel):
    """Student segmentor trained on labelled images, with a mean teacher.

    The teacher is an mmengine averaged model of the student
    (:class:`ExponentialMovingAverage` unless ``teacher_ema`` names another,
    e.g. ``MomentumAnnealingEMA``). mmengine's convention: ``teacher <- (1 -
    momentum) * teacher + momentum * student``, so ``teacher_momentum=0.01``
    is a decay of 0.99. It is updated at the start of every training step
    from the student of the previous step, inside the forward pass, so DDP and
    resuming need no hook; the first ``teacher_warmup`` updates copy the
    student's whole state (DSSN's release copies at its first update, so
    ``teacher_warmup=2`` here: our first update is before any step). What
    the releases differ in is explicit:

    - ``teacher_type``: 'ema' (the averaged model labels the unlabelled
      images) or 'online' (UniMatch: the student labels them itself; the
      averaged model is then only evaluated, as ``teacher/*`` metrics).
      Subclasses read it; here unlabelled images are ignored.
    - ``teacher_mode``: 'eval', or 'train' (DSSN, DAFormer-based releases:
      the teacher's BN layers normalise with batch statistics and update
      their running statistics; its dropout stays off).
    - ``teacher_buffers``: 'ema' (floating-point buffers such as BN
      statistics and prototypes are averaged like the parameters, integer
      ones keep their first copy), 'copy' (copied from the student at every
      update) or 'own' (changed only by the teacher's own train-mode
      forward passes after the first copy).

    Subclasses add the unlabelled losses in :meth:`semi_losses`. Predictions
    come from ``predict_on`` ('student' or 'teacher'), which
    :class:`TeacherStudentValLoop` switches to evaluate both.

    Args:
        segmentor (dict): the student, an mmseg ``EncoderDecoder`` config.
        data_preprocessor (dict): usually :class:`SemiDataPreProcessor`.
        teacher_momentum (float): mmengine EMA momentum (weight of the student).
        labeled_weight (float): multiplier of the supervised losses.
        predict_on (str): branch used by ``predict`` outside the val loop.
        teacher_ema (dict): type and extra arguments of the mmengine averaged
            model (``momentum`` and ``update_buffers`` are set here).
        teacher_type (str): 'ema' or 'online'.
        teacher_mode (str): 'eval' or 'train' (BN layers in train mode).
        teacher_buffers (str): 'ema', 'copy' or 'own'.
        teacher_warmup (int): number of first updates that copy the student.
        init_checkpoint (str, optional): checkpoint of the student's
            segmentor (e.g. a source-only or supervised run), loaded strictly
            into the student and the teacher by :meth:`init_weights`.
        init_new_modules (tuple[str]): student submodules that
            ``init_checkpoint`` may lack, e.g. ``('auxiliary_head', )`` for a
            projection head the initial model did not have; they keep their
            initialisation. Every other key must fit.
    """

    def __init__(self, segmentor, data_preprocessor=None, teacher_momentum=0.01,
                 labeled_weight=1.0, predict_on='teacher',
                 teacher_ema=dict(type='ExponentialMovingAverage'), teacher_type='ema',
                 teacher_mode='eval', teacher_buffers='ema', teacher_warmup=1,
                 init_checkpoint=None, init_new_modules=(), init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        for name, value in (('teacher_type', teacher_type), ('teacher_mode', teacher_mode),
                            ('teacher_buffers', teacher_buffers)):
            if value not in TEACHER_OPTIONS[name]:
                raise ValueError(f'{name} must be one of {TEACHER_OPTIONS[name]}, got {value!r}')
        self.teacher_type, self.teacher_mode = teacher_type, teacher_mode
        self.teacher_buffers, self.teacher_warmup = teacher_buffers, teacher_warmup
        self.student = MODELS.build(segmentor)
        self.teacher = MODELS.build(dict(
            teacher_ema, model=self.student, momentum=teacher_momentum,
            update_buffers=teacher_buffers == 'ema')).eval()
        self.labeled_weight = labeled_weight
        self.predict_on = predict_on
        self.init_checkpoint = init_checkpoint
        self.init_new_modules = tuple(init_new_modules)

    def init_weights(self):
        super().init_weights()
        if self.init_checkpoint is not None:
            self.load_segmentor(self.init_checkpoint)

    def load_segmentor(self, filename):
        """Load a segmentor checkpoint into the student and the EMA teacher, strictly.

        Accepts a plain segmentor's checkpoint or one of this class (its
        ``student.*`` weights). Raises ``ValueError`` naming the missing,
        unexpected and mis-shaped keys when it holds another model; keys of
        ``init_new_modules`` may be missing. The teacher is a copy of the
        loaded student.
        """
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
        state = checkpoint.get('state_dict', checkpoint)
        if any(key.startswith('student.') for key in state):
            state = {key[len('student.'):]: value for key, value in state.items()
                     if key.startswith('student.')}
        missing, unexpected, reshaped = state_dict_mismatch(self.student.state_dict(), state)
        new = tuple(f'{module}.' for module in self.init_new_modules)
        missing = [key for key in missing if not key.startswith(new)]
        if missing or unexpected or reshaped:
            raise ValueError(
                f'{filename} does not fit the student (and its EMA teacher): missing keys '
                f'{missing}, unexpected keys {unexpected}, keys of another shape {reshaped} '
                '(init_new_modules names heads the checkpoint may lack)')
        self.student.load_state_dict(state, strict=False)
        self.teacher.module.load_state_dict(self.student.state_dict())

    @property
    def predict_on(self):
        return self._predict_on

    @predict_on.setter
    def predict_on(self, branch):
        if branch not in BRANCHES:
            raise ValueError(f'predict_on must be one of {BRANCHES}, got {branch!r}')
        self._predict_on = branch

    @property
    def num_classes(self):
        return self.student.decode_head.num_classes

    def train(self, mode=True):
        super().train(mode)
        self.teacher.train(False)
        if mode and self.teacher_mode == 'train':
            for module in self.teacher.modules():
                if isinstance(module, _BatchNorm):
                    module.train()
        return self

    @torch.no_grad()
    def update_teacher(self):
        """One teacher update from the student: a copy during the warm-up, else an average."""
        teacher = self.teacher
        if teacher.steps < self.teacher_warmup:
            teacher.module.load_state_dict(self.student.state_dict())
            teacher.steps += 1
            return
        kept = [buffer.clone() for buffer in teacher.module.buffers()] \
            if self.teacher_buffers == 'own' else []
        teacher.update_parameters(self.student)
        for buffer, value in zip(teacher.module.buffers(), kept):
            buffer.copy_(value)

    def forward(self, inputs, data_samples=None, mode='tensor', unlabeled=None):
        if mode == 'loss':
            return self.loss(inputs, data_samples, unlabeled)
        branch = self.student if self.predict_on == 'student' else self.teacher.module
        return branch(inputs, data_samples, mode=mode)

    def loss(self, inputs, data_samples, unlabeled=None):
        self.update_teacher()
        if unlabeled is None:
            return self.labeled_losses(self.student.extract_feat(inputs), data_samples)
        return self.semi_losses(inputs, data_samples, unlabeled)

    def decode(self, model, feats, size):
        """``model``'s decode-head logits for backbone ``feats``, resized to ``size``."""
        return resize(model.decode_head.forward(feats), size=size, mode='bilinear',
                      align_corners=model.align_corners)

    def semi_losses(self, inputs, data_samples, unlabeled):
        """Losses of a step with unlabelled images; the supervised baseline ignores them."""
        return self.labeled_losses(self.student.extract_feat(inputs), data_samples)

    def labeled_losses(self, feats, data_samples, contrast_feats=None, contrast_samples=None,
                       contrast_weight=1.0, decode_logits=None):
        """The student's decode and auxiliary losses, times ``labeled_weight``.

        With ``contrast_feats`` / ``contrast_samples`` (e.g. strong views
        with pseudo-labels), each :class:`ContrastHead` contrasts the labelled
        and these pixels together; its losses are also times ``contrast_weight``.
        ``decode_logits`` are the decode head's logits of ``feats`` when a
        caller already computed them (in a pass shared with other images).
        """
        student, train_cfg = self.student, self.student.train_cfg
        head = student.decode_head
        losses = add_prefix(head.loss(feats, data_samples, train_cfg) if decode_logits is None
                            else head.loss_by_feat(decode_logits, data_samples), 'decode')
        if student.with_auxiliary_head:
            heads = student.auxiliary_head
            heads = list(heads) if isinstance(heads, torch.nn.ModuleList) else [heads]
            for index, head in enumerate(heads):
                prefix = f'aux_{index}' if len(heads) > 1 else 'aux'
                if not isinstance(head, ContrastHead):
                    losses.update(add_prefix(head.loss(feats, data_samples, train_cfg), prefix))
                    continue
                head_feats, head_samples = feats, data_samples
                if contrast_feats is not None:
                    head_feats = [torch.cat(pair) for pair in zip(feats, contrast_feats)]
                    head_samples = list(data_samples) + list(contrast_samples)
                losses.update(add_prefix(scale_losses(
                    head.loss(head_feats, head_samples, train_cfg), contrast_weight), prefix))
        return scale_losses(losses, self.labeled_weight)
