"""Runs the console's browser journeys: every test_*.py here, or only the journeys named.

    python run.py                                   # all of them
    python run.py Reading.test_c_a_dsl_of_another_school_gets_not_found
    python run.py test_journeys.Journeys.test_g_a_replayed_code_is_refused

Prints one closing line, "browser: N passed, N failed", and exits non-zero on any failure.
"""

import glob
import importlib
import sys
import unittest


def suite(names):
    loader = unittest.TestLoader()
    if not names:
        return loader.discover(".", pattern="test_*.py")
    modules = [importlib.import_module(path[:-3]) for path in sorted(glob.glob("test_*.py"))]
    chosen = unittest.TestSuite()
    for name in names:
        head = name.split(".")[0]
        # "Class.test" is looked for in every file; "module.Class.test" names its file.
        found = [m for m in modules if m.__name__ == head] or [m for m in modules if hasattr(m, head)]
        if not found:
            raise SystemExit(f"browser: no journey {name}")
        for module in found:
            chosen.addTests(loader.loadTestsFromName(name[len(head) + 1:] if module.__name__ == head else name, module))
    return chosen


if __name__ == "__main__":
    result = unittest.TextTestRunner(verbosity=2).run(suite(sys.argv[1:]))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"browser: {result.testsRun - failed - len(result.skipped)} passed, {failed} failed")
    sys.exit(0 if result.wasSuccessful() else 1)
