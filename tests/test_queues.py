"""TF1 queues, readers, QueueRunner, Coordinator, input producers and batchers, with real threads.

Every test has a timeout: a queue op that hangs fails the test instead of hanging CI.
"""

import threading
import time

import numpy as np
import pytest

import dataflow as tf
from tfdata_helpers import drain, write_shards

pytestmark = pytest.mark.timeout(60)


def test_fifo_order_size_close_and_out_of_range_message():
    q = tf.FIFOQueue(10, [tf.int32, tf.float32], shapes=[[], [2]])
    enq = q.enqueue_many([[1, 2, 3], np.arange(6, dtype=np.float32).reshape(3, 2)])
    a, b = q.dequeue()
    with tf.Session() as sess:
        sess.run(enq)
        assert sess.run(q.size()) == 3
        assert sess.run(a) == 1
        xs, ys = sess.run(q.dequeue_many(2))
        np.testing.assert_array_equal(xs, [2, 3])
        np.testing.assert_array_equal(ys, [[2, 3], [4, 5]])
        assert not sess.run(q.is_closed())
        sess.run(q.close())
        assert sess.run(q.is_closed())
        with pytest.raises(tf.errors.OutOfRangeError, match=r"is closed and has insufficient elements "
                                                           r"\(requested 1, current size 0\)"):
            sess.run(a)
        with pytest.raises(tf.errors.CancelledError, match="is closed"):
            sess.run(enq)


def test_enqueue_checks_shapes_and_dtypes():
    q = tf.FIFOQueue(4, tf.float32, shapes=[[2]])
    x = tf.placeholder(tf.float32, [None])
    enq = q.enqueue([x])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Shape mismatch in tuple component 0. "
                                                                 r"Expected \[2\], got \[3\]"):
            sess.run(enq, {x: [1, 2, 3]})
    with pytest.raises(ValueError, match="Expected 1 components"):
        q.enqueue([1.0, 2.0])


def test_dequeue_up_to_returns_the_rest_after_close():
    q = tf.FIFOQueue(10, tf.int64)
    with tf.Session() as sess:
        sess.run(q.enqueue_many([np.arange(5)]))
        sess.run(q.close())
        up = q.dequeue_up_to(3)
        np.testing.assert_array_equal(sess.run(up), [0, 1, 2])
        np.testing.assert_array_equal(sess.run(up), [3, 4])
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(up)
        with pytest.raises(tf.errors.OutOfRangeError):  # dequeue_many needs all 3
            sess.run(q.dequeue_many(3))


def test_blocking_dequeue_is_woken_by_an_enqueue_from_another_thread():
    q = tf.FIFOQueue(2, tf.int32)
    deq = q.dequeue()
    enq = q.enqueue(7)
    with tf.Session() as sess:
        got = []
        t = threading.Thread(target=lambda: got.append(sess.run(deq)))
        t.start()
        time.sleep(0.2)
        assert t.is_alive() and not got
        sess.run(enq)
        t.join(10)
        assert got == [7]


def test_close_with_cancel_pending_enqueues_cancels_a_blocked_enqueue():
    q = tf.FIFOQueue(1, tf.int32)
    enq = q.enqueue(1)
    errors = []
    with tf.Session() as sess:
        sess.run(enq)  # full now

        def blocked():
            try:
                sess.run(enq)
            except tf.errors.CancelledError as e:
                errors.append(e)

        t = threading.Thread(target=blocked)
        t.start()
        time.sleep(0.2)
        assert t.is_alive()
        sess.run(q.close(cancel_pending_enqueues=True))
        t.join(10)
        assert not t.is_alive() and errors and "cancelled" in str(errors[0])
        assert sess.run(q.dequeue()) == 1  # what was in the queue stays


def test_session_close_wakes_blocked_dequeues():
    q = tf.FIFOQueue(1, tf.int32)
    deq = q.dequeue()
    sess = tf.Session()
    errors = []

    def blocked():
        try:
            sess.run(deq)
        except tf.errors.CancelledError as e:
            errors.append(e)

    threads = [threading.Thread(target=blocked) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    sess.close()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert len(errors) == 2


def test_random_shuffle_queue_keeps_min_after_dequeue_and_is_seeded():
    def run(seed):
        tf.reset_default_graph()
        q = tf.RandomShuffleQueue(100, 5, tf.int32, seed=seed)
        with tf.Session() as sess:
            sess.run(q.enqueue_many([np.arange(20, dtype=np.int32)]))
            first = sess.run(q.dequeue_many(15))
            assert sess.run(q.size()) == 5
            sess.run(q.close())
            rest = sess.run(q.dequeue_many(5))  # closed: min_after_dequeue no longer holds back
            return np.concatenate([first, rest])

    a, b = run(3), run(3)
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(20)) and a.tolist() != list(range(20))


def test_padding_fifo_queue_pads_to_the_longest_element():
    q = tf.PaddingFIFOQueue(10, [tf.int32, tf.string], shapes=[[None], []])
    x = tf.placeholder(tf.int32, [None])
    s = tf.placeholder(tf.string, [])
    enq = q.enqueue([x, s])
    with tf.Session() as sess:
        for v, name in [([1], b"a"), ([1, 2, 3], b"bb"), ([4, 5], b"c")]:
            sess.run(enq, {x: v, s: name})
        xs, ss = sess.run(q.dequeue_many(3))
    np.testing.assert_array_equal(xs, [[1, 0, 0], [1, 2, 3], [4, 5, 0]])
    assert list(ss) == [b"a", b"bb", b"c"]


def test_queue_names_as_tf():
    assert tf.queue.FIFOQueue is tf.FIFOQueue
    q = tf.FIFOQueue(3, tf.int32, names=["a"])
    enq = q.enqueue({"a": 5})
    out = q.dequeue()
    assert isinstance(out, dict)
    with tf.Session() as sess:
        sess.run(enq)
        assert sess.run(out)["a"] == 5


def test_concurrent_runs_of_one_plan_from_many_threads():
    q = tf.FIFOQueue(1000, tf.int32)
    x = tf.placeholder(tf.int32, [])
    enq = q.enqueue(x * 2)
    with tf.Session() as sess:
        threads = [threading.Thread(target=lambda i=i: [sess.run(enq, {x: i * 100 + j}) for j in range(50)])
                   for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        got = sorted(sess.run(q.dequeue_many(200)).tolist())
    assert got == sorted(2 * (i * 100 + j) for i in range(4) for j in range(50))


def test_coordinator_join_reraises_and_stop_on_exception():
    coord = tf.train.Coordinator()

    def worker():
        with coord.stop_on_exception():
            raise ValueError("boom")

    t = threading.Thread(target=worker)
    t.start()
    assert coord.wait_for_stop(10)
    with pytest.raises(ValueError, match="boom"):
        coord.join([t])
    coord2 = tf.train.Coordinator()
    coord2.request_stop(tf.errors.OutOfRangeError(None, None, "done"))  # a clean stop: not re-raised
    coord2.join([])
    assert coord2.should_stop()


def test_classic_queue_runner_loop_ends_after_num_epochs():
    data = np.arange(10, dtype=np.int32)
    x = tf.train.slice_input_producer([tf.constant(data)], num_epochs=3, shuffle=True, seed=1)[0]
    xb = tf.train.batch([x], batch_size=4, num_threads=2, allow_smaller_final_batch=True)
    seen = []
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        try:
            while not coord.should_stop():
                seen.extend(sess.run(xb)[0].tolist())
        except tf.errors.OutOfRangeError:
            pass
        finally:
            coord.request_stop()
        coord.join(threads, stop_grace_period_secs=10)
    assert sorted(seen) == sorted(data.tolist() * 3)


def test_batch_static_shape_dict_and_enqueue_many():
    a = tf.constant(np.arange(12, dtype=np.float32).reshape(6, 2))
    b = tf.constant(np.arange(6, dtype=np.int64))
    out = tf.train.batch({"a": a, "b": b}, batch_size=3, enqueue_many=True)
    assert out["a"].shape.as_list() == [3, 2] and out["b"].shape.as_list() == [3]
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        got = sess.run(out)
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=10)
    np.testing.assert_array_equal(got["a"], np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(got["b"], [0, 1, 2])


def test_batch_requires_defined_shapes_unless_dynamic_pad():
    x = tf.placeholder(tf.float32, [None])
    with pytest.raises(ValueError, match="fully defined"):
        tf.train.batch([x], 2)
    tf.train.batch([x], 2, dynamic_pad=True)


def test_shuffle_batch_and_joins_cover_every_element():
    a = tf.train.slice_input_producer([tf.range(20)], num_epochs=1, shuffle=False)[0]
    b = tf.train.slice_input_producer([tf.range(100, 110)], num_epochs=1, shuffle=False)[0]
    sb = tf.train.shuffle_batch_join([[a], [b]], batch_size=5, capacity=50, min_after_dequeue=10, seed=2,
                                     allow_smaller_final_batch=True)[0]
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        got = np.concatenate(drain(sess, sb))
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=10)
    assert sorted(got.tolist()) == list(range(20)) + list(range(100, 110))


def test_string_input_producer_and_readers_keys(tmp_path):
    names = write_shards(tmp_path, 2, 3, "r{i}{j}")
    fq = tf.train.string_input_producer(names, num_epochs=1, shuffle=False)
    key, value = tf.TFRecordReader().read(fq)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        pairs = drain(sess, [key, value])
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=10)
    assert [v for _, v in pairs] == [b"r00", b"r01", b"r02", b"r10", b"r11", b"r12"]
    assert [k for k, _ in pairs][:2] == [f"{names[0]}:0".encode(), f"{names[0]}:19".encode()]  # 12 + 3 + 4 bytes


def _filled_queue(names):
    q = tf.FIFOQueue(10, tf.string)
    return q, [q.enqueue_many([names]), q.close()]


def test_text_fixed_length_and_whole_file_readers(tmp_path):
    t = tmp_path / "a.csv"
    t.write_bytes(b"header\n1,2\r\n3,4\n")
    f = tmp_path / "b.bin"
    f.write_bytes(b"HH" + b"abcdefgh" + b"F")
    q1, fill1 = _filled_queue([str(t)])
    q2, fill2 = _filled_queue([str(f)])
    q3, fill3 = _filled_queue([str(t), str(f)])
    tk, tv = tf.TextLineReader(skip_header_lines=1).read(q1)
    fk, fv = tf.FixedLengthRecordReader(3, header_bytes=2, footer_bytes=1).read_up_to(q2, 10)
    wk, wv = tf.WholeFileReader().read(q3)
    with tf.Session() as sess:
        sess.run(fill1 + fill2 + fill3)
        assert drain(sess, [tk, tv]) == [[f"{t}:2".encode(), b"1,2"], [f"{t}:3".encode(), b"3,4"]]
        keys, values = sess.run([fk, fv])
        assert list(values) == [b"abc", b"def"] and keys[1] == f"{f}:1".encode()
        assert [v for _, v in drain(sess, [wk, wv])] == [t.read_bytes(), f.read_bytes()]


def test_string_input_producer_rejects_empty_and_limit_epochs_needs_local_init():
    with pytest.raises(ValueError, match="non-null"):
        tf.train.string_input_producer(tf.constant([], dtype=tf.string))
    x = tf.train.limit_epochs(tf.constant([1, 2]), num_epochs=2)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(x)
        sess.run(tf.local_variables_initializer())
        sess.run(x)
        sess.run(x)
        with pytest.raises(tf.errors.OutOfRangeError, match="Reached limit of 2"):
            sess.run(x)


def test_queue_runner_without_coordinator_records_errors():
    q = tf.FIFOQueue(10, tf.float32)
    x = tf.py_func(lambda: (_ for _ in ()).throw(RuntimeError("bad input")), [], tf.float32)
    qr = tf.train.QueueRunner(q, [q.enqueue(tf.reshape(x, []))])
    with tf.Session() as sess:
        threads = qr.create_threads(sess, start=True)
        for t in threads:
            t.join(10)
    assert len(qr.exceptions_raised) == 1 and "bad input" in str(qr.exceptions_raised[0])


def test_reader_counters_and_reset(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"x\ny\n")
    q, fill = _filled_queue([str(p), str(p)])
    reader = tf.TextLineReader()
    key, value = reader.read(q)
    produced, completed = reader.num_records_produced(), reader.num_work_units_completed()
    with tf.Session() as sess:
        sess.run(fill)
        assert [v for _, v in drain(sess, [key, value])] == [b"x", b"y", b"x", b"y"]
        assert sess.run([produced, completed]) == [4, 2]
        sess.run(reader.reset())
        assert sess.run(produced) == 0


def test_batch_with_dynamic_pad_pads_each_batch():
    lengths = tf.train.range_input_producer(4, num_epochs=1, shuffle=False).dequeue() + 1
    seq = tf.range(lengths)
    padded = tf.train.batch([seq], batch_size=2, dynamic_pad=True)[0]
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        got = drain(sess, padded)
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=10)
    assert [b.tolist() for b in got] == [[[0, 0], [0, 1]], [[0, 1, 2, 0], [0, 1, 2, 3]]]


def test_operation_timeout_turns_a_blocked_dequeue_into_deadline_exceeded():
    q = tf.FIFOQueue(1, tf.int32)
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=200)) as sess:
        t0 = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError, match="Timed out waiting for notification"):
            sess.run(q.dequeue())
        assert 0.15 < time.monotonic() - t0 < 5
        sess.run(q.enqueue(1))
        with pytest.raises(tf.errors.DeadlineExceededError):
            sess.run(q.enqueue(2))  # full
