"""A student segmentor and its EMA teacher: the supervised-only baseline of the
semi-supervised methods and the base they share."""
import torch
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ...engine.checkpoint import state_dict_mismatch
from ..heads import ContrastHead

BRANCHES = ('student', 'teacher')


def scale_losses(losses, weight):
    """``losses`` with every ``loss*`` entry multiplied by ``weight`` (metrics kept)."""
    return {key: value * weight if 'loss' in key else value for key, value in losses.items()}


@MODELS.register_module()
class SemiSupervisedSegmentor(BaseModel):
    """Student segmentor trained on labelled images, with a mean teacher.

    The teacher is mmengine's :class:`ExponentialMovingAverage` of the
    student with ``update_buffers=True``: parameters and floating-point
    buffers (BN running statistics, prototypes) are averaged, integer
    buffers (BN ``num_batches_tracked``) keep their first copy. mmengine's
    convention: ``teacher <- (1 - momentum) * teacher + momentum * student``,
    so ``teacher_momentum=0.01`` is a decay of 0.99 (``teacher_ema`` picks
    another mmengine averaging class, e.g. ``MomentumAnnealingEMA``). The teacher is updated
    at the start of every training step from the student of the previous
    step (the first step copies it), inside the forward pass, so DDP and
    resuming need no hook; it stays in eval mode. Subclasses add the
    unlabelled losses in :meth:`semi_losses`; here unlabelled images are
    ignored (the supervised-only row). Predictions come from ``predict_on``
    ('student' or 'teacher'), which :class:`TeacherStudentValLoop` switches
    to evaluate both.

    Args:
        segmentor (dict): the student, an mmseg ``EncoderDecoder`` config.
        data_preprocessor (dict): usually :class:`SemiDataPreProcessor`.
        teacher_momentum (float): mmengine EMA momentum (weight of the student).
        labeled_weight (float): multiplier of the supervised losses.
        predict_on (str): branch used by ``predict`` outside the val loop.
        teacher_ema (dict): type and extra arguments of the mmengine averaged
            model (``momentum`` and ``update_buffers`` are set here).
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
                 teacher_ema=dict(type='ExponentialMovingAverage'), init_checkpoint=None,
                 init_new_modules=(), init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(segmentor)
        self.teacher = MODELS.build(dict(teacher_ema, model=self.student,
                                         momentum=teacher_momentum, update_buffers=True)).eval()
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
        return self

    def forward(self, inputs, data_samples=None, mode='tensor', unlabeled=None):
        if mode == 'loss':
            return self.loss(inputs, data_samples, unlabeled)
        branch = self.student if self.predict_on == 'student' else self.teacher.module
        return branch(inputs, data_samples, mode=mode)

    def loss(self, inputs, data_samples, unlabeled=None):
        self.teacher.update_parameters(self.student)
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
                       contrast_weight=1.0):
        """The student's decode and auxiliary losses, times ``labeled_weight``.

        With ``contrast_feats`` / ``contrast_samples`` (e.g. strong views
        with pseudo-labels), each :class:`ContrastHead` contrasts the labelled
        and these pixels together; its losses are also times ``contrast_weight``.
        """
        student, train_cfg = self.student, self.student.train_cfg
        losses = add_prefix(student.decode_head.loss(feats, data_samples, train_cfg), 'decode')
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
