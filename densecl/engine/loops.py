"""Validation of both branches of a student / teacher model."""
from mmengine.model import is_model_wrapper
from mmengine.runner import ValLoop
from mmengine.runner.loops import _parse_losses
from mmseg.registry import LOOPS


@LOOPS.register_module()
class TeacherStudentValLoop(ValLoop):
    """Evaluate the student and the teacher of a :class:`SemiSupervisedSegmentor`.

    The dataset is run once per branch (the model's ``predict_on``); the
    metrics are logged as ``student/<metric>`` and ``teacher/<metric>``
    (e.g. ``teacher/mIoU``); the model's ``predict_on`` is restored
    afterwards. Arguments are those of mmengine's ValLoop.
    """
    branches = ('student', 'teacher')

    def run(self):
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        metrics, previous = {}, model.predict_on
        for branch in self.branches:
            model.predict_on = branch
            self.val_loss.clear()
            for idx, data_batch in enumerate(self.dataloader):
                self.run_iter(idx, data_batch)
            branch_metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
            if self.val_loss:
                branch_metrics.update(_parse_losses(self.val_loss, 'val'))
            metrics.update({f'{branch}/{key}': value for key, value in branch_metrics.items()})
        model.predict_on = previous
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
