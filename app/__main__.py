"""Entry point of the NN Canvas desktop app: ``nncanvas [FILE.json]`` or ``python -m app``.

Opens the main window with FILE (default: the digits example); when a session that
crashed or was killed left unsaved work, it first offers to restore it
(:mod:`app.recovery`). Options:

* ``--screenshot OUT.png``: open, draw, save a picture of the whole window and exit
  (offscreen when there is no display) — for the README's pictures and for checks. The
  window then neither reads nor writes the saved layout, theme and recent files, so a
  picture does not depend on earlier sessions;
* ``--theme light|dark``;
* ``--quit-after MS``: close the window after MS milliseconds (for checks: a run that
  trains is stopped and unsaved changes are discarded without asking);
* ``--select NODE``: select a node by name (for pictures);
* ``--train EPOCHS``: train for EPOCHS epochs through the same worker the Train button
  uses (with ``--screenshot``: save the picture when training ends, then exit with 1 and
  the run's error on stderr if training failed, e.g. a NaN loss or unreadable data);
* ``--tab NAME``: the plots tab to show (loss, gradients, histograms, boundary,
  confusion), with or without ``--train``.

Exit codes: 0 done, 1 a file or picture that cannot be read or written or (with
``--train`` and ``--screenshot``) failed training, 2 bad options.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from app.resources import DEFAULT_EXAMPLE, examples_dir

#: The file opened when none is given: a shipped example (package data), opened as an
#: untitled copy.
DEFAULT_GRAPH = examples_dir() / f"{DEFAULT_EXAMPLE}.json"
#: The plots tabs ``--tab`` can show (a word of each tab's title).
TABS = ("loss", "gradients", "histograms", "boundary", "confusion")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nncanvas", description="NN Canvas: build neural "
                                     "networks by wiring nodes, and train them.")
    parser.add_argument("file", nargs="?", metavar="FILE.json",
                        help=f"a network to open (default: {DEFAULT_GRAPH.name})")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="save a picture of the window and exit")
    parser.add_argument("--theme", choices=("light", "dark"))
    parser.add_argument("--quit-after", type=int, metavar="MS",
                        help="close the window after MS milliseconds")
    parser.add_argument("--size", default="1400x860", metavar="WxH",
                        help="window size for --screenshot (default 1400x860)")
    parser.add_argument("--select", metavar="NODE", help="select the node with this name "
                        "(shows it in the inspector; for pictures)")
    parser.add_argument("--train", type=int, metavar="EPOCHS",
                        help="train the network for EPOCHS epochs as the Train button does "
                        "(with --screenshot: then save the picture and exit)")
    parser.add_argument("--tab", choices=TABS, help="show this tab of the plots (in the "
                        "picture)")
    return parser


def _headless() -> bool:
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
        and sys.platform.startswith("linux")


def _no_message_boxes(said: list[str], app: object) -> None:
    """With ``--screenshot`` no one can click a message box: each one prints its text to
    stderr instead, answers Cancel (nothing is discarded) and makes the exit code 1;
    ``said`` collects the texts."""
    from PySide6.QtWidgets import QMessageBox

    def instead(*args: object, **kwargs: object) -> QMessageBox.StandardButton:
        texts = [a for a in args if isinstance(a, str)]
        text = ": ".join(texts[-2:]) if texts else "a message box"
        print(f"nncanvas: {text}", file=sys.stderr)
        said.append(text)
        return QMessageBox.StandardButton.Cancel

    def instead_exec(box: QMessageBox) -> int:
        instead(box.windowTitle(), box.text())
        return int(QMessageBox.StandardButton.Cancel.value)

    for name in ("information", "warning", "critical", "question"):
        setattr(QMessageBox, name, staticmethod(instead))
    QMessageBox.exec = instead_exec  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.train is not None and args.train < 1:
        print("nncanvas: --train needs at least 1 epoch", file=sys.stderr)
        return 2
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"nncanvas: --size must look like 1400x860, got {args.size!r}", file=sys.stderr)
        return 2
    if _headless() and not os.environ.get("QT_QPA_PLATFORM"):
        if not args.screenshot:
            print("nncanvas: no display found (DISPLAY and WAYLAND_DISPLAY are not set). "
                  "Run it in a desktop session, under xvfb-run, or with --screenshot "
                  "OUT.png to save a picture.", file=sys.stderr)
            return 1
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    path = Path(args.file) if args.file else DEFAULT_GRAPH
    if args.screenshot:  # no one to read a message box: check the file first
        from nncore.graph import load_graph
        try:
            load_graph(path)
        except (ValueError, OSError) as e:  # GraphFileError: the file and the problem
            print(f"nncanvas: cannot open {e}", file=sys.stderr)
            return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import READABLE_ZOOM, MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("NN Canvas")
    app.setOrganizationName("NNCanvas")
    boxes: list[str] = []  # what a message box would have said (--screenshot)
    if args.screenshot:
        _no_message_boxes(boxes, app)
    window = MainWindow(theme=args.theme, persist=not args.screenshot)
    # work a crashed or killed session left unsaved comes first (it asks), else FILE
    if not window.offer_recovery() and not window.open_file(path):
        print(f"nncanvas: cannot open {path}", file=sys.stderr)
    if args.screenshot:
        window.resize(width, height)
    window.show()
    if args.select:
        node = window.document.graph.node_by_name(args.select)
        if node is not None:
            window.scene.select_nodes([node.id])

    def show_tab() -> None:
        if args.tab:
            window.show_plots()
            window.plots.show_tab(args.tab)

    show_tab()
    if args.screenshot:
        failure: list[str] = []  # the error that ended training, if any

        def shoot() -> None:
            window.scene.refresh()
            window.view.fit(min_zoom=READABLE_ZOOM)
            app.processEvents()
            ok = window.grab().save(args.screenshot)
            if not ok:
                print(f"nncanvas: cannot write {args.screenshot}", file=sys.stderr)
            if failure:
                print(f"nncanvas: {failure[0]}", file=sys.stderr)
            failure.extend(boxes)
            window.document.mark_unmodified()
            window.close()
            app.exit(0 if ok and not failure else 1)
        if args.train:
            def trained(run_id: int) -> None:
                window.controller.run_finished.disconnect(trained)
                run = window.runs.get(run_id)
                if run is not None and run.status == "failed":
                    failure.append(f"training failed: {run.message or 'unknown error'}")
                window.plots.redraw_now()
                show_tab()
                QTimer.singleShot(300, shoot)

            def refused(text: str, error: bool) -> None:
                if error:
                    failure[:] = [text[:1].lower() + text[1:]]

            def start() -> None:
                window.controller.message.connect(refused)
                run_id = window.start_training(args.train)
                window.controller.message.disconnect(refused)
                if run_id is None:  # nothing to wait for: the data cannot be read
                    window.controller.run_finished.disconnect(trained)
                    failure[:] = failure or ["training did not start"]
                    QTimer.singleShot(300, shoot)
            window.controller.run_finished.connect(trained)
            QTimer.singleShot(100, start)
        else:
            QTimer.singleShot(300, shoot)
    elif args.train:
        QTimer.singleShot(100, lambda: window.start_training(args.train))
    if args.quit_after is not None:
        def quit_now() -> None:  # a check's timed close: no one is there to answer
            from PySide6.QtWidgets import QMessageBox

            window.ask_stop = lambda action="close": QMessageBox.Yes
            window.ask_save = lambda: QMessageBox.Discard
            window.close()
        QTimer.singleShot(args.quit_after, quit_now)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
