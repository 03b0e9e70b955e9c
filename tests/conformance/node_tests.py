#!/usr/bin/python3
"""tests/conformance/node_tests.py: the official ONNX backend node test suite, run through
the `stele` command exactly as a user would run it, compared with the expected outputs the
way onnx's backend test runner compares them.

Run with Debian's /usr/bin/python3 (it has onnx 1.12 and numpy):

    node_tests.py --generate build/node-suite      # generate (once) and run everything
    node_tests.py --stele build/stele --filter '^test_(abs|add)'
    node_tests.py --floor tests/conformance/floor.txt --xfail tests/conformance/xfail.txt

Each case runs `stele run DIR/node/T/model.onnx --input NAME=DIR/node/T/test_data_set_K/
input_N.pb ... --output-dir TMP --json` for every test_data_set_K and checks every output
the JSON lists: numeric values with numpy.testing.assert_allclose(rtol=1e-3, atol=1e-7) and
NaN in the same places, strings, booleans and integers exactly, shapes and dtypes equal.
This file only drives and compares: it must never compute an operator's result itself.
"""

import argparse
import collections
import concurrent.futures
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

EXPECTED_CASES = 922  # node tests onnx 1.12 generates
RTOL, ATOL = 1e-3, 1e-7  # the backend runner's defaults for node tests
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def restore_numpy_aliases():
    """onnx 1.12's test generators still use aliases numpy 1.24 removed."""
    import warnings
    import numpy
    with warnings.catch_warnings():  # numpy 1.24 warns when asked about the old names
        warnings.simplefilter('ignore', FutureWarning)
        for name, value in [('float', float), ('int', int), ('bool', bool), ('object', object),
                            ('complex', complex), ('str', str)]:
            if not hasattr(numpy, name):
                setattr(numpy, name, value)


restore_numpy_aliases()  # the runner's own helpers (numpy_helper, mapping) need them too
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402


# ---- generating the suite -------------------------------------------------------------

def count_cases(node_dir):
    return len(glob.glob(os.path.join(node_dir, '*', 'model.onnx')))


def generate(out_dir):
    node_dir = os.path.join(out_dir, 'node')
    have = count_cases(node_dir)
    if have >= EXPECTED_CASES:
        print(f'{node_dir}: already has {have} cases, not regenerating')
        return
    print(f'generating the ONNX {onnx.__version__} backend node tests into {out_dir} ...',
          flush=True)
    from onnx.backend.test import cmd_tools
    saved = sys.argv
    sys.argv = ['backend-test-tools', 'generate-data', '-o', out_dir]
    try:
        cmd_tools.main()
    finally:
        sys.argv = saved
    have = count_cases(node_dir)
    print(f'{node_dir}: {have} cases')
    if have < EXPECTED_CASES:
        print(f'warning: expected {EXPECTED_CASES} node cases, generated {have}', file=sys.stderr)


# ---- reading values -------------------------------------------------------------------

def load_proto(path, type_proto):
    """A .pb value as the backend runner reads it: an array, a list, or None."""
    with open(path, 'rb') as f:
        data = f.read()
    if type_proto.HasField('sequence_type'):
        seq = onnx.SequenceProto()
        seq.ParseFromString(data)
        return numpy_helper.to_list(seq)
    if type_proto.HasField('optional_type'):
        opt = onnx.OptionalProto()
        opt.ParseFromString(data)
        return numpy_helper.to_optional(opt)
    if type_proto.HasField('tensor_type'):
        t = onnx.TensorProto()
        t.ParseFromString(data)
        if t.data_type in NARROW_TYPES:  # onnx 1.12's numpy_helper does not know them
            return narrow_to_array(t)
        return numpy_helper.to_array(t)
    raise ValueError('map and sparse values are not supported')


def minifloat_table(exp_bits, man_bits, bias, fnuz=False, inf=False, nan_all_ones=True):
    """float32 values of the 2**(1+exp_bits+man_bits) codes of a small float format:
    fnuz formats have no negative zero (0x80 is their only NaN) and no infinity; E5M2 has
    IEEE infinities and NaNs; E4M3FN has only S.1111.111 as NaN; float4e2m1 has neither."""
    n = 1 << (1 + exp_bits + man_bits)
    out = np.zeros(n, dtype=np.float32)
    emax = (1 << exp_bits) - 1
    for code in range(n):
        sign = -1.0 if code >> (exp_bits + man_bits) else 1.0
        e = (code >> man_bits) & emax
        m = code & ((1 << man_bits) - 1)
        if e == 0:
            v = m / (1 << man_bits) * 2.0 ** (1 - bias)
        else:
            v = (1 + m / (1 << man_bits)) * 2.0 ** (e - bias)
        if fnuz and code == n >> 1:
            v = np.nan
        elif inf and e == emax:
            v = np.inf if m == 0 else np.nan
        elif nan_all_ones and not fnuz and not inf and e == emax and \
                m == (1 << man_bits) - 1:
            v = np.nan
        out[code] = sign * v if v == v else v
    return out


# data type: (bits per element, float32 table or numpy integer dtype); tables are built on use
NARROW_TYPES = {
    17: (8, lambda: minifloat_table(4, 3, 7)),                       # FLOAT8E4M3FN
    18: (8, lambda: minifloat_table(4, 3, 8, fnuz=True)),            # FLOAT8E4M3FNUZ
    19: (8, lambda: minifloat_table(5, 2, 15, inf=True)),            # FLOAT8E5M2
    20: (8, lambda: minifloat_table(5, 2, 16, fnuz=True)),           # FLOAT8E5M2FNUZ
    21: (4, np.uint8),                                               # UINT4
    22: (4, np.int8),                                                # INT4
    23: (4, lambda: minifloat_table(2, 1, 1, nan_all_ones=False)),   # FLOAT4E2M1
    24: (8, lambda: np.array([np.float32(2.0) ** (c - 127) if c != 255 else np.nan
                              for c in range(256)], dtype=np.float32)),  # FLOAT8E8M0
    25: (2, np.uint8),                                               # UINT2
    26: (2, np.int8),                                                # INT2
}
_narrow_tables = {}
NARROW_NAMES = ('float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'uint4',
                'int4', 'float4e2m1', 'float8e8m0', 'uint2', 'int2')


def narrow_to_array(t):
    """A TensorProto of a type without a numpy dtype, decoded as the ONNX spec stores it:
    one byte per 8-bit element, 4- and 2-bit elements packed low bits first, in raw_data or
    (as unsigned codes) in int32_data. Floats come back as float32, integers as int8/uint8,
    the form stele writes them in."""
    bits, kind = NARROW_TYPES[t.data_type]
    shape = tuple(t.dims)
    n = int(np.prod(shape, dtype=np.int64))
    if t.HasField('raw_data'):
        packed = np.frombuffer(t.raw_data, dtype=np.uint8)
    else:
        packed = np.array(t.int32_data, dtype=np.int64).astype(np.uint8)
    per = 8 // bits
    if packed.size != (n + per - 1) // per:
        raise ValueError(f'{packed.size} bytes for {n} elements of data type {t.data_type}')
    mask = (1 << bits) - 1
    codes = np.stack([(packed >> (bits * k)) & mask for k in range(per)], axis=1).reshape(-1)[:n]
    if isinstance(kind, type):  # integers: sign-extend the signed ones
        if kind == np.int8:
            codes = codes.astype(np.int16)
            codes = np.where(codes >= (1 << (bits - 1)), codes - (1 << bits), codes)
        return codes.astype(kind).reshape(shape)
    if t.data_type not in _narrow_tables:
        _narrow_tables[t.data_type] = kind()
    return _narrow_tables[t.data_type][codes].reshape(shape)


def bf16_as_f32(value, type_proto):
    """Expected bfloat16 values as float32, the form stele writes them in. onnx 1.12's node
    tests store bfloat16 data as UINT16 tensors holding the bits; to_array already turns
    true BFLOAT16 tensors into float32."""
    if value is None:
        return None
    if type_proto.HasField('sequence_type'):
        return [bf16_as_f32(v, type_proto.sequence_type.elem_type) for v in value]
    if type_proto.HasField('optional_type'):
        return bf16_as_f32(value, type_proto.optional_type.elem_type)
    if isinstance(value, list):
        return value
    if type_proto.tensor_type.elem_type == onnx.TensorProto.BFLOAT16 and value.dtype == np.uint16:
        return (value.astype(np.uint32) << 16).view(np.float32)
    return value


def load_actual(path, type_proto):
    if path.endswith('.npy'):
        return np.load(path, allow_pickle=False)
    return load_proto(path, type_proto)


def is_text(a):
    return a.dtype == object or a.dtype.kind in 'US'


def describe(v):
    if v is None:
        return 'an empty optional'
    if isinstance(v, list):
        return f'a sequence of {len(v)}'
    return f'{v.dtype}{list(v.shape)}'


def first_mismatch(actual, expected, bad):
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    return f'at {list(idx)}: got {actual[idx]!r}, expected {expected[idx]!r}'


def compare(actual, expected, where):
    """None when equal enough, else a one-line reason."""
    if expected is None or actual is None:
        if expected is None and actual is None:
            return None
        return f'{where}: got {describe(actual)}, expected {describe(expected)}'
    if isinstance(expected, list) or isinstance(actual, list):
        if not (isinstance(expected, list) and isinstance(actual, list)):
            return f'{where}: got {describe(actual)}, expected {describe(expected)}'
        if len(actual) != len(expected):
            return f'{where}: sequence of {len(actual)}, expected {len(expected)}'
        for j, (a, e) in enumerate(zip(actual, expected)):
            r = compare(a, e, f'{where}[{j}]')
            if r:
                return r
        return None
    if is_text(expected) or is_text(actual):
        if not (is_text(expected) and is_text(actual)):
            return f'{where}: dtype {actual.dtype}, expected strings'
        if actual.shape != expected.shape:
            return f'{where}: shape {list(actual.shape)}, expected {list(expected.shape)}'
        a = np.asarray(actual, dtype=object)
        e = np.asarray(expected, dtype=object)
        bad = a != e
        if np.any(bad):
            return f'{where}: {int(np.sum(bad))}/{a.size} strings differ, ' + \
                first_mismatch(a, e, bad)
        return None
    if actual.dtype != expected.dtype:
        return f'{where}: dtype {actual.dtype}, expected {expected.dtype}'
    if actual.shape != expected.shape:
        return f'{where}: shape {list(actual.shape)}, expected {list(expected.shape)}'
    if expected.dtype.kind in 'fc':
        try:
            np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)
            return None
        except AssertionError:
            with np.errstate(invalid='ignore', over='ignore'):
                bad = ~np.isclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
                diff = np.abs(actual.astype(np.complex128 if expected.dtype.kind == 'c'
                                            else np.float64) - expected)
                finite = diff[np.isfinite(diff)]
            worst = f', max abs diff {float(finite.max()):.4g}' if finite.size else ''
            if not np.any(bad):  # assert_allclose also wants inf/nan in the same places
                bad = np.isnan(actual) != np.isnan(expected)
                bad |= np.isinf(actual) != np.isinf(expected)
            return f'{where}: {int(np.sum(bad))}/{actual.size} values differ{worst}, ' + \
                first_mismatch(actual, expected, bad)
    bad = actual != expected
    if np.any(bad):
        return f'{where}: {int(np.sum(bad))}/{actual.size} values differ, ' + \
            first_mismatch(actual, expected, bad)
    return None


# ---- running one case -----------------------------------------------------------------

def op_types(graph, acc):
    for node in graph.node:
        acc.add(node.op_type if node.domain in ('', 'ai.onnx') else f'{node.domain}.{node.op_type}')
        for attr in node.attribute:
            if attr.HasField('g'):
                op_types(attr.g, acc)
            for g in attr.graphs:
                op_types(g, acc)
    return acc


def numbered(paths, prefix):
    def key(p):
        m = re.search(prefix + r'_(\d+)\.pb$', p)
        return int(m.group(1)) if m else -1
    return sorted((p for p in paths if key(p) >= 0), key=key)


def last_line(text):
    lines = [ln.strip() for ln in text.decode('utf-8', 'replace').splitlines() if ln.strip()]
    line = lines[-1] if lines else '(no message)'
    return line if len(line) <= 300 else line[:297] + '...'


def json_consistent(entry, actual):
    """The JSON's dtype and shape describe the file written (tensors only)."""
    if not isinstance(actual, np.ndarray) or entry.get('kind', 'tensor') != 'tensor' \
            or entry.get('optional'):
        return None
    shape = entry.get('shape')
    if shape is not None and list(shape) != list(actual.shape):
        return f'JSON says shape {shape}, the file holds {list(actual.shape)}'
    dtype = entry.get('dtype')
    if dtype and dtype not in ('bfloat16', 'string') + NARROW_NAMES:
        try:
            if np.dtype(dtype) != actual.dtype:
                return f'JSON says dtype {dtype}, the file holds {actual.dtype}'
        except TypeError:
            return f'JSON names an unknown dtype {dtype!r}'
    return None


def run_data_set(args, model_path, model, inputs, ds):
    """None when every output matches, else the reason."""
    files = numbered(glob.glob(os.path.join(ds, 'input_*.pb')), 'input')
    if len(files) > len(inputs):
        return f'{len(files)} input files but {len(inputs)} graph inputs'
    cmd = [args.stele, 'run', model_path]
    for name, path in zip(inputs, files):
        cmd += ['--input', f'{name}={path}']
    tmp = tempfile.mkdtemp(prefix='stele-node-')
    keep = False
    try:
        cmd += ['--output-dir', tmp, '--json']
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return f'timed out after {args.timeout:g} s'
        if proc.returncode < 0:
            try:
                sig = signal.Signals(-proc.returncode).name
            except ValueError:
                sig = f'signal {-proc.returncode}'
            return f'crashed ({sig}): {last_line(proc.stderr)}'
        if proc.returncode != 0:
            return f'exit {proc.returncode}: {last_line(proc.stderr)}'
        try:
            report = json.loads(proc.stdout)
            entries = {o['name']: o for o in report['outputs']}
        except (ValueError, KeyError, TypeError) as e:
            return f'unreadable --json output ({e}): {last_line(proc.stdout)}'
        for j, out in enumerate(model.graph.output):
            expected_path = os.path.join(ds, f'output_{j}.pb')
            if not os.path.exists(expected_path):
                continue
            entry = entries.get(out.name)
            if entry is None:
                return f'output {out.name!r} missing from the JSON'
            if not entry.get('path'):
                return f'output {out.name!r}: no file written'
            try:
                actual = load_actual(entry['path'], out.type)
            except Exception as e:  # a file numpy or protobuf cannot read is a failure
                return f'output {out.name!r}: cannot read {os.path.basename(entry["path"])}: {e}'
            reason = json_consistent(entry, actual)
            if reason:
                return f'output {out.name!r}: {reason}'
            expected = bf16_as_f32(load_proto(expected_path, out.type), out.type)
            reason = compare(actual, expected, f'output {out.name!r}')
            if reason:
                keep = args.keep
                return reason + (f' (outputs kept in {tmp})' if keep else '')
        return None
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def run_case(args, case_dir):
    """(status, reason, op types): status is 'pass', 'fail' or 'skip'."""
    model_path = os.path.join(case_dir, 'model.onnx')
    try:
        model = onnx.load(model_path)
    except Exception as e:
        return 'fail', f'onnx cannot load the model: {e}', set()
    ops = op_types(model.graph, set())
    inits = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in inits]
    sets = sorted(glob.glob(os.path.join(case_dir, 'test_data_set_*')))
    if not sets:
        return 'skip', 'no test data', ops
    for ds in sets:
        reason = run_data_set(args, model_path, model, inputs, ds)
        if reason:
            tag = os.path.basename(ds)
            return 'fail', reason if len(sets) == 1 else f'{tag}: {reason}', ops
    return 'pass', '', ops


# ---- lists and the driver -------------------------------------------------------------

def read_floor(path):
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                return int(line)
    raise ValueError(f'{path}: no number in the file')


def read_xfail(path):
    """{test name: reason}; '#' starts a comment."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                raise ValueError(f'{path}:{n}: "{parts[0]}" needs a reason')
            out[parts[0]] = parts[1].strip()
    return out


def default_suite():
    env = os.environ.get('STELE_NODE_SUITE')
    if env:
        return env
    built = os.path.join(REPO, 'build', 'node-suite')
    if os.path.isdir(os.path.join(built, 'node')):
        return built
    return '/tmp/nodegen/out'


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--generate', metavar='DIR',
                   help='generate the suite into DIR (skipped when DIR/node has every case), '
                        'then run it from there')
    p.add_argument('--generate-only', action='store_true', help='stop after --generate')
    p.add_argument('--suite', metavar='DIR',
                   help='the generated suite (DIR/node/<test>); default: the --generate DIR, '
                        '$STELE_NODE_SUITE, build/node-suite, or /tmp/nodegen/out')
    p.add_argument('--stele', default=os.environ.get('STELE') or './build/stele',
                   help='the stele command (default: $STELE or ./build/stele)')
    p.add_argument('--kinds', default='node', metavar='LIST',
                   help='comma-separated case directories of the suite to run (default: node; '
                        'the ONNX 1.20 suite also has simple)')
    p.add_argument('--skip-missing', action='store_true',
                   help='exit 77 (skipped) when the suite is absent instead of failing')
    p.add_argument('--filter', metavar='REGEX', help='run only tests whose name matches')
    p.add_argument('--jobs', '-j', type=int, default=2, help='cases run at once (default 2)')
    p.add_argument('--timeout', type=float, default=60, help='seconds per run (default 60)')
    p.add_argument('--floor', metavar='FILE', help='exit 1 when fewer cases pass than FILE says')
    p.add_argument('--xfail', metavar='FILE', help='expected failures: "test_name  reason" lines')
    p.add_argument('--keep', action='store_true', help="keep failing cases' output directories")
    p.add_argument('--verbose', '-v', action='store_true', help='print every result as it lands')
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.generate:
        generate(args.generate)
        if args.generate_only:
            return 0
    suite = args.suite or args.generate or default_suite()
    node_dir = os.path.join(suite, 'node')
    if not os.path.isdir(node_dir):
        if args.skip_missing:
            print(f'SKIP: {node_dir}: no such directory (set $STELE_ONNX_BACKEND_120 to the '
                  f'ONNX 1.20 suite)', file=sys.stderr)
            return 77
        print(f'{node_dir}: no such directory (generate it with --generate DIR)', file=sys.stderr)
        return 2
    if not (os.path.isfile(args.stele) and os.access(args.stele, os.X_OK)):
        print(f'{args.stele}: no stele executable (build it, or pass --stele PATH)',
              file=sys.stderr)
        return 2
    args.stele = os.path.abspath(args.stele)
    try:
        xfail = read_xfail(args.xfail) if args.xfail else {}
        floor = read_floor(args.floor) if args.floor else None
    except (OSError, ValueError) as e:
        print(e, file=sys.stderr)
        return 2

    case_dirs = {}  # name -> directory: node cases by their name, others as KIND/name
    for kind in args.kinds.split(','):
        kind_dir = os.path.join(suite, kind)
        if kind != 'node' and not os.path.isdir(kind_dir):
            print(f'{kind_dir}: no such directory', file=sys.stderr)
            return 2
        for d in os.listdir(kind_dir):
            if os.path.isfile(os.path.join(kind_dir, d, 'model.onnx')):
                case_dirs[d if kind == 'node' else f'{kind}/{d}'] = os.path.join(kind_dir, d)
    names = sorted(case_dirs)
    if args.filter:
        rx = re.compile(args.filter)
        names = [n for n in names if rx.search(n)]
    if not names:
        print('no test matches', file=sys.stderr)
        return 2

    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run_case, args, case_dirs[n]): n for n in names}
        try:
            for fut in concurrent.futures.as_completed(futures):
                name = futures[fut]
                try:
                    results[name] = fut.result()
                except Exception as e:  # a bug here must not hide the other results
                    results[name] = ('fail', f'runner error: {type(e).__name__}: {e}', set())
                if args.verbose:
                    status, reason, _ = results[name]
                    print(f'{status.upper():5} {name}' + (f': {reason}' if reason else ''),
                          flush=True)
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            raise

    passed, failed, xfailed, xpassed, skipped = [], [], [], [], []
    by_op = collections.Counter()
    for name in names:
        status, reason, ops = results[name]
        if status == 'pass':
            passed.append(name)
            if name in xfail:
                xpassed.append(name)
        elif status == 'skip':
            skipped.append((name, reason))
        elif name in xfail:
            xfailed.append((name, reason))
        else:
            failed.append((name, reason))
            by_op.update(ops)

    for name, reason in failed:
        print(f'FAIL {name}: {reason}')
    for name, reason in skipped:
        print(f'SKIP {name}: {reason}')
    if failed:
        print('\nfailures by op (op types in the failing models):')
        for op, n in sorted(by_op.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f'  {op:32} {n}')
    if xfailed:
        print(f'\n{len(xfailed)} expected failures (listed in {args.xfail}):')
        for name, reason in xfailed:
            print(f'  XFAIL {name}: {xfail[name]}  [{reason}]')
    if xpassed:
        print(f'\n{len(xpassed)} cases listed in {args.xfail} now pass; remove them:')
        for name in xpassed:
            print(f'  XPASS {name}')

    line = f'{len(passed)} passed, {len(failed)} failed'
    if xfailed:
        line += f', {len(xfailed)} xfailed'
    if skipped:
        line += f', {len(skipped)} skipped'
    print()
    print(line)

    if floor is not None and args.filter:
        print(f'the floor in {args.floor} covers the whole suite: not checked with --filter')
    elif floor is not None:
        if len(passed) < floor:
            print(f'below the floor: {len(passed)} passed, {args.floor} requires {floor}')
            return 1
        if len(passed) > floor:
            print(f'{len(passed)} passes exceed the floor of {floor}: raise it in {args.floor}')
        return 0
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
