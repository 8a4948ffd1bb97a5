import numpy as np
import keras

from keras_skeleton import optim


def test_ctrgcn_step_schedule_per_epoch():
    schedule = optim.WarmupStepDecay(0.1, steps_per_epoch=10, warmup_epochs=5, decay_epochs=[35, 55])
    rates = optim.epoch_learning_rates(schedule, 65)
    np.testing.assert_allclose(rates[:6], [0.02, 0.04, 0.06, 0.08, 0.1, 0.1], rtol=1e-6)
    np.testing.assert_allclose([rates[34], rates[35], rates[54], rates[55], rates[64]],
                               [0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-5)
    assert float(schedule(19)) == float(schedule(10))        # constant within an epoch


def test_cosine_schedule_endpoints():
    schedule = optim.WarmupCosine(0.1, total_steps=100, warmup_steps=10)
    np.testing.assert_allclose(float(schedule(0)), 0.01, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(10)), 0.1, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(55)), 0.05, rtol=1e-5)
    assert float(schedule(100)) < 1e-8


def test_torch_sgd_matches_pytorch_update_rule():
    # Two steps of torch.optim.SGD(lr, momentum=0.9, nesterov=True, weight_decay=wd) worked by hand.
    lr, mu, wd = 0.1, 0.9, 0.01
    w = keras.Variable(np.array([1.0, -2.0], "float32"))
    opt = optim.TorchSGD(lr, momentum=mu, nesterov=True, l2_weight_decay=wd)
    grads = [np.array([0.5, 0.5], "float32"), np.array([-1.0, 2.0], "float32")]
    expected, buf = np.array([1.0, -2.0]), np.zeros(2)
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
        d = g + wd * expected
        buf = mu * buf + d
        expected = expected - lr * (d + mu * buf)
    np.testing.assert_allclose(np.asarray(w), expected, rtol=1e-6)


def test_label_smoothing_loss():
    loss = optim.SmoothedSparseCrossEntropy(num_classes=4, smoothing=0.1)
    logits = np.log(np.array([[0.7, 0.1, 0.1, 0.1]], "float32"))
    targets = np.array([0.925, 0.025, 0.025, 0.025])
    np.testing.assert_allclose(float(loss(np.array([0]), logits)), -(targets * logits[0]).sum(), rtol=1e-5)


def test_cosine_warmup_from_zero_and_paddle_cosine():
    schedule = optim.WarmupCosine(0.1, total_steps=100, warmup_steps=10, warmup_from_zero=True)
    np.testing.assert_allclose([float(schedule(s)) for s in (0, 5, 10)], [0.0, 0.05, 0.1], atol=1e-7)
    paddle = optim.PaddleWarmupCosine(0.1, steps_per_epoch=10, warmup_epochs=10, max_epochs=100,
                                      warmup_start_lr=0.01)
    end = 0.05 * (1 + np.cos(np.pi * 0.1))
    np.testing.assert_allclose(float(paddle(0)), 0.01, rtol=1e-6)
    np.testing.assert_allclose(float(paddle(50)), 0.01 + 5 * (end - 0.01) / 10, rtol=1e-5)
    np.testing.assert_allclose(float(paddle(100)), end, rtol=1e-5)


def test_schedules_round_trip_through_config():
    for schedule in (optim.WarmupStepDecay(0.1, 7, 5, [35, 55]), optim.WarmupCosine(0.1, 100, 5, 0.001, True),
                     optim.PaddleWarmupCosine(0.1, 7, 10, 100, 0.01)):
        again = type(schedule).from_config(schedule.get_config())
        np.testing.assert_allclose([float(again(s)) for s in (0, 3, 40, 90)],
                                   [float(schedule(s)) for s in (0, 3, 40, 90)], rtol=1e-7)
