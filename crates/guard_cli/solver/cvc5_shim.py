"""A `cvc5` command over the PyPI `cvc5` wheel, for `guard prove`.

The wheel ships cvc5's library and Python API but no executable, and Cedar's symbolic compiler
talks to a solver *process*: SMT-LIB commands on stdin, answers on stdout. This runs each
command through cvc5's own parser and command interpreter (`InputParser`, `Command.invoke`), so
the answers are the ones the `cvc5` binary prints. tests/env.sh installs the wheel into .venv
and puts a `cvc5` launcher for this file on PATH.

Accepted arguments: `--lang smt` (the only language) and `--name=value` cvc5 options
(`--tlimit=60000`).
"""

import sys

import cvc5


def commands(stream):
    """Yields each complete top-level SMT-LIB command as soon as its closing paren is read."""
    buffer, depth, in_string, in_symbol = [], 0, False, False
    for line in stream:
        i = 0
        while i < len(line):
            c = line[i]
            buffer.append(c)
            if in_string:
                # `""` inside a string literal is an escaped quote
                if c == '"':
                    if i + 1 < len(line) and line[i + 1] == '"':
                        buffer.append('"')
                        i += 1
                    else:
                        in_string = False
            elif in_symbol:
                in_symbol = c != "|"
            elif c == '"':
                in_string = True
            elif c == "|":
                in_symbol = True
            elif c == ";":
                # a comment runs to the end of the line
                buffer[-1] = "\n"
                break
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    yield "".join(buffer) + "\n"
                    buffer = []
            i += 1


def options(argv):
    """The cvc5 options among the arguments, as (name, value) pairs."""
    args = iter(argv)
    for arg in args:
        if arg == "--lang":
            language = next(args, "")
            if language not in ("smt", "smt2", "smtlib2.6", "smt2.6"):
                sys.exit(f"cvc5 shim: unsupported language `{language}`")
        elif arg.startswith("--") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            yield name, value
        elif arg.startswith("--"):
            yield arg[2:], "true"
        else:
            sys.exit(f"cvc5 shim: unsupported argument `{arg}` (reads SMT-LIB from stdin)")


def main():
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    for name, value in options(sys.argv[1:]):
        solver.setOption(name, value)
    symbols = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, symbols)
    parser.setIncrementalStringInput(cvc5.InputLanguage.SMT_LIB_2_6, "stdin")
    for text in commands(sys.stdin):
        parser.appendIncrementalStringInput(text)
        try:
            command = parser.nextCommand()
        except RuntimeError as error:
            # The binary answers a parse error this way and quits; so do we.
            message = str(error).replace('"', '""')
            print(f'(error "Parse Error: {message}")', flush=True)
            return 1
        if command.isNull():
            continue
        sys.stdout.write(command.invoke(solver, symbols))
        sys.stdout.flush()
        if command.getCommandName() == "exit":
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
