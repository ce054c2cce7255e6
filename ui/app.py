"""``deskpilot tray``: the Qt application that ties tray, windows, overlay and runs together."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Qt, Signal

from agent.api import (
    ConfigError,
    DeskpilotError,
    Settings,
    chord_triggers,
    default_config_path,
    describe_screen_aloud,
    load_settings,
    open_speech,
    overlay_placement,
    read_screen_aloud,
)

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer
    from PySide6.QtWidgets import QApplication

    from agent.api import LostTarget, PlaySettings, Region, RunEvent, RunResult, ScreenAction, Verdict
    from ui.history_window import HistoryWindow
    from ui.lost_target import LostTargetWindow
    from ui.settings_dialog import SettingsDialog
    from ui.skills_window import SkillRunner, SkillsWindow


def _lock_path() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY", "")
    display = display.replace(":", "_").replace("/", "_")
    return Path(runtime) / f"deskpilot-tray-{os.getuid()}{display}.lock"


def _discard(window: Any) -> None:
    """Have Qt delete a window we are about to replace, on the GUI thread, at its next turn.

    Dropped to Python instead, a window held in a reference cycle (the settings dialog is
    one) is freed by the cyclic garbage collector on whichever thread happens to collect,
    often a run's worker thread, and a QWidget destroyed off the GUI thread crashed the
    tray with a segmentation fault (issue 19: Settings, then Run).
    """
    if window is not None:
        window.close()
        window.deleteLater()


class _Relay(QObject):
    """Carries calls from listener and helper threads to the GUI thread."""

    entry = Signal(str)  # a menu entry, from a global hotkey
    status = Signal(str)  # what a describe or read ended with


class DeskpilotApp:
    """Owns the windows and the run controller; the menu's entries land here."""

    def __init__(self, app: QApplication, *, force_window: bool = False) -> None:
        from PySide6.QtWidgets import QSystemTrayIcon

        from ui.capture_guard import OverlayHidingComputer
        from ui.command_window import CommandWindow
        from ui.controller import RunController
        from ui.overlay import ConfirmOverlay
        from ui.style import apply_style
        from ui.tray import FallbackWindow, Menu, Tray

        self.app = app
        self.config_path = default_config_path()
        # Wayland gives no "always on top": there the overlay is fullscreen on the acted monitor.
        self.overlay = ConfirmOverlay(fullscreen=overlay_placement() == "fullscreen")
        self.controller = RunController(
            self._settings, lambda computer: OverlayHidingComputer(computer, self.overlay), speech=self.speech
        )
        self.command = CommandWindow()
        apply_style(self.command)
        self.menu = Menu()
        self.menu.set_running(False)
        self.menu.triggered.connect(self._menu)
        self.history_window: HistoryWindow | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.skills_window: SkillsWindow | None = None
        self.skill_runner: SkillRunner | None = None
        # Made on first open; play_macro and record_macro run only from its signals, so
        # they use it unchecked: typed Any rather than adding checks that change nothing.
        self.macros_window: Any = None
        self.macro_recorder: Any = None
        self.lost_window: LostTargetWindow | None = None  # healing tier (e): where is a macro step's target?

        self.tray: Tray | None = None
        self.window: FallbackWindow | None = None
        if not force_window and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = Tray(self.menu)
            self.tray.show()
        else:
            why = (
                "No system tray was found on this desktop, so Deskpilot shows this window instead. "
                "Closing it keeps Deskpilot running (the kill hotkey still works): run "
                "`deskpilot tray` again to bring it back. Quit ends Deskpilot."
            )
            self.window = FallbackWindow(self.menu, why)
            apply_style(self.window)
            self.window.show()

        c = self.controller
        c.state_changed.connect(self._state)
        c.event.connect(self._event)
        c.progress.connect(self._progress)
        c.lost_needed.connect(self._lost)
        c.question_withdrawn.connect(self._withdraw_lost)
        c.run_finished.connect(self._finished)
        c.run_failed.connect(self._failed)
        c.confirm_needed.connect(self._confirm)
        c.resume_needed.connect(self._paused)
        c.question_withdrawn.connect(self.overlay.hide_now)
        c.question_withdrawn.connect(self.command.hide_paused)
        self.overlay.decided.connect(c.answer_confirm)
        self.command.run_requested.connect(self.start)
        self.command.stop_requested.connect(c.stop)
        self.command.pause_requested.connect(c.toggle_pause)
        self.command.resume_answered.connect(self._resume_answered)

        # Keyboard first: global hotkeys for the command window, describe and read, and
        # speech of our own (tray icons are invisible to screen readers).
        # agent.ports.Speech is not in agent.api's public names, which ui/ is limited to.
        self.speech_factory: Callable[[], Any] = lambda: open_speech(self._settings(), self._assist_stop)
        self.assist_reader: Any = None  # the OCR reader for "read"; None: the offline default
        self._speech: Any = None
        self._assist_stop = threading.Event()
        self._assist_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskpilot-assist")
        self._relay = _Relay()
        self._relay.entry.connect(self._menu, Qt.ConnectionType.QueuedConnection)
        self._relay.status.connect(self._show_status, Qt.ConnectionType.QueuedConnection)
        self.hotkeys: list[Any] = []
        self.start_hotkeys()

    # -- settings and menu -----------------------------------------------------------
    def _settings(self) -> Settings:
        return load_settings(self.config_path)

    def _menu(self, key: str) -> None:
        {
            "new": self.open_command,
            "stop": self.stop,
            "pause": self.controller.toggle_pause,
            "skills": self.open_skills,
            "macros": self.open_macros,
            "describe": self.describe_screen,
            "read": self.read_screen,
            "history": self.open_history,
            "settings": self.open_settings,
            "quit": self.quit,
        }[key]()

    def open_command(self) -> None:
        from agent.api import history_root, list_runs

        try:
            settings = self._settings()
            self.command.show_settings(settings)
            tasks = list(dict.fromkeys(run.task for run in list_runs(history_root(settings)) if run.task))
            self.command.set_previous_tasks(tasks[:30])
        except ConfigError as err:
            self.command.status.setText(f"Settings problem: {err}")
        self.command.show()
        self.command.raise_()
        self.command.activateWindow()
        self.command.task.setFocus()

    def open_skills(self) -> None:
        from ui.capture_guard import OverlayHidingComputer
        from ui.skills_window import SkillRunner, SkillsWindow
        from ui.style import apply_style

        if self.skills_window is None:
            self.skills_window = SkillsWindow()
            apply_style(self.skills_window)
            # The controller's session: a skill and a run share one loaded model.
            self.skill_runner = SkillRunner(
                self.skills_window,
                self.controller.session,
                self._settings,
                lambda computer: OverlayHidingComputer(computer, self.overlay),
            )
        self.skills_window.show()
        self.skills_window.raise_()
        self.skills_window.activateWindow()

    def open_macros(self) -> None:
        """The Macros window: record, play (with the tray's overlay as the operator) and edit."""
        from ui.macros_window import MacroRecordRunner, MacrosWindow

        if self.macros_window is None:
            self.macros_window = MacrosWindow()
            self.macros_window.play_requested.connect(self.play_macro)
            self.macros_window.record_requested.connect(self.record_macro)
            self.macros_window.stop_requested.connect(self.stop)
            self.macro_recorder = MacroRecordRunner(self.macros_window, self.own_window_titles)
            self.macro_recorder.recording.connect(
                lambda: self._state("recording", "stop with the kill hotkey")
            )
            self.macro_recorder.ended.connect(self._recording_ended)
        self.macros_window.show()
        self.macros_window.raise_()
        self.macros_window.activateWindow()

    def own_window_titles(self) -> list[str]:
        """Deskpilot's own window titles: a recording leaves out the input aimed at them."""
        from ui.macros_window import TITLE
        from ui.tray import MENU_TITLE

        windows = (self.command, self.window, self.macros_window, self.skills_window, self.history_window)
        titles = {w.windowTitle() for w in windows if w is not None}
        return sorted(titles | {TITLE, MENU_TITLE, "Deskpilot"})

    def play_macro(self, path: Path, play: PlaySettings) -> None:
        """Replay ``path`` through ``agent.api`` on the controller's worker thread: the overlay
        confirms, Stop and the kill hotkey stop, the tray shows the state."""
        if self.controller.running or (self.macro_recorder is not None and self.macro_recorder.running):
            self.macros_window.show_progress("Deskpilot is busy: stop the running task or recording first")
            return
        try:
            settings = self._settings()
        except ConfigError as err:
            self.macros_window.play_failed(f"settings problem: {err}")
            return
        self.macros_window.set_busy("playing", f"Playing {path.name}; kill hotkey {settings.kill_hotkey}")
        self.menu.set_running(True)
        self.controller.play_macro(path, play, settings=settings)

    def record_macro(self, path: Path) -> None:
        """Record the user's input into ``path`` on a worker thread until the kill hotkey or Stop."""
        if self.controller.running or self.macro_recorder.running:
            self.macros_window.show_progress("Deskpilot is busy: stop the running task first")
            return
        try:
            settings = self._settings()
        except ConfigError as err:
            self.macros_window.recording_failed(f"settings problem: {err}")
            return
        self.menu.set_running(True)
        self.menu.actions["pause"].setEnabled(False)  # a recording has nothing to pause
        self.macro_recorder.start(settings, path)

    def _recording_ended(self) -> None:
        self.menu.set_running(False)
        self._state("idle", "")

    def stop(self) -> None:
        """The menu's Stop (and the windows' Stop buttons): the run, the replay or the recording."""
        self.controller.stop()
        if self.macro_recorder is not None:
            self.macro_recorder.stop()

    def _paused(self, reason: str) -> None:
        if self.controller.kind == "macro" and self.macros_window is not None:
            # The replay's window is the one in view; the menu's Pause/Resume answers.
            self.macros_window.show_progress(
                f"Paused: {reason}. Pause/Resume in the menu resumes the replay, Stop ends it"
            )
        else:
            self.command.show_paused(reason)

    def _lost(self, question: LostTarget, timeout_s: float) -> None:
        from ui.lost_target import LostTargetWindow

        if self.lost_window is None:
            self.lost_window = LostTargetWindow()
            self.lost_window.decided.connect(self.controller.answer_lost)
        self.lost_window.ask(question, timeout_s)

    def _withdraw_lost(self) -> None:
        if self.lost_window is not None:
            self.lost_window.hide_now()

    def _event(self, event: RunEvent) -> None:
        from agent.api import ActionDone, describe_action

        if self.controller.kind == "task":
            self.command.on_event(event)
        elif self.macros_window is not None and isinstance(event, ActionDone):
            status = "done" if event.performed else (event.error or "not performed")
            words = describe_action(event.action.to_json_dict())
            self.macros_window.show_progress(f"step {event.number}: {words}: {status}")

    def _progress(self, text: str) -> None:
        if self.controller.kind == "macro" and self.macros_window is not None:
            self.macros_window.show_progress(text)
        else:
            self.command.show_progress(text)

    def open_history(self) -> None:
        from agent.api import history_root
        from ui.history_window import HistoryWindow

        try:
            root = history_root(self._settings())
        except ConfigError as err:
            self.command.status.setText(f"Settings problem: {err}")
            return
        _discard(self.history_window)
        self.history_window = HistoryWindow(root)
        self.history_window.show()

    def open_settings(self) -> None:
        from ui.settings_dialog import SettingsDialog

        _discard(self.settings_dialog)
        self.settings_dialog = SettingsDialog(self.config_path)
        self.settings_dialog.saved.connect(lambda settings: self.command.show_settings(settings))
        self.settings_dialog.show()

    # -- runs ------------------------------------------------------------------------
    def start(self, task: str, dry_run: bool) -> None:
        try:
            settings = self._settings()
        except ConfigError as err:
            self.command.run_ended(f"Cannot start: {err}")
            return
        if self.controller.running or (self.macro_recorder is not None and self.macro_recorder.running):
            # One thing drives the desktop at a time: a replay or a recording is on.
            self.command.run_ended("Cannot start: a macro is playing or recording; stop it first")
            return
        self.command.run_started()
        self.menu.set_running(True)
        self.controller.start(task, dry_run=dry_run, settings=settings)

    def _confirm(self, action: ScreenAction, verdict: Verdict, timeout_s: float, monitor: Region) -> None:
        from ui.overlay import ConfirmRequest

        self.overlay.ask(ConfirmRequest.from_action(action, verdict.reason, monitor, timeout_s))

    def _resume_answered(self, resume: bool) -> None:
        self.command.hide_paused()
        self.controller.answer_resume(resume)

    # -- keyboard-first assistance ---------------------------------------------------
    def start_hotkeys(self) -> None:
        """Listen for the settings' global hotkeys; a problem is shown, never fatal."""
        try:
            settings = self._settings()
            self.hotkeys = chord_triggers(
                {
                    settings.hotkey_command: lambda: self._relay.entry.emit("new"),
                    settings.hotkey_describe: lambda: self._relay.entry.emit("describe"),
                    settings.hotkey_read: lambda: self._relay.entry.emit("read"),
                    settings.quiet_hotkey: self._be_quiet,
                }
            )
        except DeskpilotError as err:
            self.command.status.setText(f"Global hotkeys are off: {err}")

    def _be_quiet(self) -> None:
        """The quiet hotkey: silence speech at once (the kill hotkey stops runs, not this)."""
        if self._speech is not None:
            self._speech.stop()

    def _show_status(self, text: str) -> None:
        self.command.status.setText(text)

    def speech(self) -> Any:
        if self._speech is None:
            self._speech = self.speech_factory()
        return self._speech

    def read_screen(self) -> None:
        def work(settings: Settings) -> str:
            lines = read_screen_aloud(settings, self.speech(), self._assist_stop, reader=self.assist_reader)
            return f"Read {len(lines)} lines aloud"

        self._assist("reading the screen", work)

    def describe_screen(self) -> None:
        def work(settings: Settings) -> str:
            return describe_screen_aloud(self.controller.session, settings, self.speech(), self._assist_stop)

        self._assist("describing the screen", work)

    def _assist(self, what: str, work: Callable[[Settings], str]) -> None:
        """Run ``work`` off the GUI thread (OCR and the model take seconds); say how it ended."""
        try:
            settings = self._settings()
        except ConfigError as err:
            self.command.status.setText(f"Settings problem: {err}")
            return
        self.command.status.setText(what.capitalize() + "…")

        def run() -> None:
            try:
                done = work(settings)
            except DeskpilotError as err:
                words = self.controller.session.explain_for_settings(err, settings)  # no CLI flags
                done = f"Could not finish {what}: {words}"
                self.speech().say(done)
            self._relay.status.emit(done)

        # One long-lived thread for every describe and read: capture libraries keep
        # per-thread X resources, and a fresh thread per request crashed PySide after a
        # few rounds (seen in scripts/bench_tray_hotkey.py).
        self._assist_pool.submit(run)

    def _state(self, state: str, detail: str) -> None:
        if self._narrating():
            self.speech().say(f"Deskpilot is {state}")
        if self.tray is not None:
            self.tray.set_state(state, detail)
        if self.window is not None:
            self.window.set_state(state, detail)

    def _finished(self, result: RunResult) -> None:
        self.overlay.hide_now()
        self._withdraw_lost()
        self.menu.set_running(False)
        if self.controller.kind == "macro" and self.macros_window is not None:
            self.macros_window.play_finished(result)
        else:
            self.command.show_result(result)

    def _failed(self, message: str) -> None:
        self.overlay.hide_now()
        self._withdraw_lost()
        self.menu.set_running(False)
        if self.controller.kind == "macro" and self.macros_window is not None:
            self.macros_window.play_failed(message)
        else:
            self.command.run_ended(f"Could not run: {message}")

    def _narrating(self) -> bool:
        try:
            return self._settings().narrate
        except ConfigError:
            return False

    def close(self) -> None:
        """Stop any run and close every window (quit without ending the event loop)."""
        for trigger in self.hotkeys:
            trigger.stop()
        self.hotkeys = []
        self._assist_stop.set()
        self._assist_pool.shutdown(wait=False, cancel_futures=True)
        if self._speech is not None:
            self._speech.close()
        self.controller.shutdown()
        if self.skill_runner is not None:
            self.skill_runner.shutdown()
        if self.macro_recorder is not None:
            self.macro_recorder.shutdown()
        self.overlay.hide_now()
        self._withdraw_lost()
        windows = (
            self.command,
            self.window,
            self.history_window,
            self.settings_dialog,
            self.skills_window,
            self.macros_window,
            self.lost_window,
        )
        for widget in windows:
            if widget is not None:
                widget.close()
        if self.tray is not None:
            self.tray.icon.hide()

    def quit(self) -> None:
        self.close()
        self.app.quit()

    def bring_back(self) -> None:
        """Another ``deskpilot tray`` asked for us: show the window a user can act from."""
        target = self.window if self.window is not None else None
        if target is None:
            self.open_command()
            return
        target.show()
        target.raise_()
        target.activateWindow()


def _server_name() -> str:
    """One local socket per user and display: where a second start finds the first."""
    return _lock_path().with_suffix(".sock").name


def _ask_running_instance(timeout_ms: int = 2000) -> bool:
    """Tell the running tray app to show itself; True when it answered."""
    from PySide6.QtNetwork import QLocalSocket

    socket = QLocalSocket()
    socket.connectToServer(_server_name())
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(b"show\n")
    socket.flush()
    answered = socket.waitForReadyRead(timeout_ms) and bytes(socket.readAll().data()).startswith(b"shown")
    socket.disconnectFromServer()
    return answered


def _listen_for_second_starts(desk: DeskpilotApp) -> QLocalServer:
    """A local server that brings the window back whenever ``deskpilot tray`` runs again."""
    from PySide6.QtNetwork import QLocalServer

    server = QLocalServer()
    QLocalServer.removeServer(_server_name())  # a stale socket of a crashed instance (we hold the lock)
    server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
    if not server.listen(_server_name()):
        sys.stderr.write(
            f"deskpilot tray: warning: a second start cannot reach this one ({server.errorString()})\n"
        )
        return server

    def on_connection() -> None:
        connection = server.nextPendingConnection()
        if connection is None:
            return

        def on_ready() -> None:
            if b"show" in bytes(connection.readAll().data()):
                desk.bring_back()
                connection.write(b"shown\n")
                connection.flush()
            connection.disconnectFromServer()

        connection.readyRead.connect(on_ready)
        connection.disconnected.connect(connection.deleteLater)

    server.newConnection.connect(on_connection)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deskpilot tray", description="Deskpilot's tray app")
    parser.add_argument("--window", action="store_true", help="use the small window even if a tray exists")
    args = parser.parse_args(argv)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and os.environ.get(
        "QT_QPA_PLATFORM"
    ) != "offscreen":
        sys.stderr.write(
            "deskpilot tray: error: no display: neither DISPLAY nor WAYLAND_DISPLAY is set "
            "(start a desktop session)\n"
        )
        return 2
    from PySide6.QtCore import QLockFile
    from PySide6.QtWidgets import QApplication

    app = cast(QApplication, QApplication.instance() or QApplication(["deskpilot"]))
    lock = QLockFile(str(_lock_path()))
    if not lock.tryLock(100):
        if _ask_running_instance():
            sys.stderr.write("deskpilot tray: Deskpilot is already running; brought its window back\n")
            return 0
        sys.stderr.write("deskpilot tray: Deskpilot is already running in this session but does not answer\n")
        return 1
    app.setApplicationName("Deskpilot")
    app.setQuitOnLastWindowClosed(False)
    desk = DeskpilotApp(app, force_window=args.window)
    server = _listen_for_second_starts(desk)  # kept alive for the app's life
    sys.stderr.write(
        "Deskpilot is running "
        + ("in the system tray\n" if desk.tray else "in its window (no system tray)\n")
    )
    try:
        return int(app.exec())
    finally:
        server.close()
        lock.unlock()
