//! `aws sso login` run from the dashboard: the AWS CLI signs the profile in to IAM Identity
//! Center (it opens the browser, or prints a page and a code to use on another device) and keeps
//! the token where haven and the SDK read it. Its output is not shown as is: what it asks the
//! person to do is said in the footer; its errors end the sign-in with their last line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use haven_model::accounts::{SsoPrompt, sso_login_command};

use crate::dashboard::Say;

/// Runs `aws sso login --profile PROFILE` until it ends, saying what it asks for; stopped (the
/// CLI killed) when the future is dropped, e.g. when the dashboard quits.
pub async fn run(profile: &str, say: Say) -> Result<(), String> {
    run_with(Path::new("aws"), profile, say).await
}

/// Like [`run`], with the AWS CLI at `program`.
pub async fn run_with(program: &Path, profile: &str, say: Say) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(["sso", "login", "--profile", profile])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "the AWS CLI (`aws`) is not installed or not on PATH: install AWS CLI v2, then \
                 run `{}`",
                sso_login_command(profile)
            ),
            _ => format!("cannot run `{}`: {e}", sso_login_command(profile)),
        })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let running = Running(Arc::new(Mutex::new(Some(child))));
    let watched = Arc::clone(&running.0);
    let name = profile.to_string();
    say(SsoPrompt::default().words(&name));
    let ended = tokio::task::spawn_blocking(move || {
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stderr) = stderr {
                let _ = stderr.read_to_string(&mut text);
            }
            text
        });
        let mut prompt = SsoPrompt::default();
        for line in stdout
            .into_iter()
            .flat_map(|out| BufReader::new(out).lines().map_while(Result::ok))
        {
            if prompt.read(&line) {
                say(prompt.words(&name));
            }
        }
        let status = wait(&watched);
        let errors = errors.join().unwrap_or_default();
        match status {
            Some(status) if status.success() => Ok(()),
            _ => Err(format!(
                "`{}` failed: {}",
                sso_login_command(&name),
                errors
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("it was stopped")
                    .trim()
            )),
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    drop(running);
    ended
}

/// The CLI while it runs; killed when dropped before it has ended.
struct Running(Arc<Mutex<Option<Child>>>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut child) = self.0.lock()
            && let Some(child) = child.as_mut()
        {
            let _ = child.kill();
        }
    }
}

/// Waits for the CLI to end without holding the lock (so that a drop can kill it meanwhile);
/// `None` when it was killed.
fn wait(child: &Mutex<Option<Child>>) -> Option<std::process::ExitStatus> {
    loop {
        let mut guard = child.lock().ok()?;
        match guard.as_mut()?.try_wait() {
            Ok(Some(status)) => {
                guard.take();
                return Some(status);
            }
            Ok(None) => {}
            Err(_) => return None,
        }
        drop(guard);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;

    /// An executable shell script standing in for the AWS CLI.
    fn fake_cli(name: &str, body: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("haven-sso-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("aws");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn recorder() -> (Say, Arc<Mutex<Vec<String>>>) {
        let said = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&said);
        let say: Say = Arc::new(move |text| sink.lock().unwrap().push(text));
        (say, said)
    }

    #[tokio::test]
    async fn the_page_and_code_the_cli_prints_are_said_and_its_end_ends_the_login() {
        let cli = fake_cli(
            "ok",
            "test \"$*\" = \"sso login --profile corp\" || exit 9\n\
             echo 'If the browser does not open, open the following URL:'\n\
             echo; echo 'https://device.sso.us-east-1.amazonaws.com/'; echo\n\
             echo 'Then enter the code:'; echo; echo 'WDDD-HRQV'\n\
             echo 'Successfully logged into Start URL: https://corp.awsapps.com/start'",
        );
        let (say, said) = recorder();
        run_with(&cli, "corp", say).await.expect("signed in");
        let said = said.lock().unwrap().clone();
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(
            said[2].contains(
                "open https://device.sso.us-east-1.amazonaws.com/ and enter the code WDDD-HRQV"
            ),
            "{said:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_login_ends_with_the_clis_last_error_line_and_a_missing_cli_says_so() {
        let cli = fake_cli(
            "fails",
            "echo 'aws: [ERROR]: something first' >&2\n\
             echo 'Error when retrieving token from sso: Token has expired and refresh failed' >&2\n\
             exit 255",
        );
        let (say, _) = recorder();
        let err = run_with(&cli, "corp", say.clone()).await.unwrap_err();
        assert_eq!(
            err,
            "`aws sso login --profile corp` failed: Error when retrieving token from sso: Token \
             has expired and refresh failed"
        );
        let missing = Path::new("/nonexistent/haven/aws");
        let err = run_with(missing, "corp", say).await.unwrap_err();
        assert!(
            err.contains("the AWS CLI (`aws`) is not installed"),
            "{err}"
        );
        assert!(err.contains("`aws sso login --profile corp`"), "{err}");
    }

    #[tokio::test]
    async fn a_login_given_up_stops_the_cli() {
        let pid_file = std::env::temp_dir().join(format!("haven-sso-pid-{}", std::process::id()));
        let cli = fake_cli(
            "waits",
            &format!("echo $$ > {}\nexec sleep 30", pid_file.display()),
        );
        let (say, _) = recorder();
        let login = run_with(&cli, "corp", say);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), login)
                .await
                .is_err(),
            "the login waits for the person"
        );
        let pid = std::fs::read_to_string(&pid_file).expect("the CLI ran");
        let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while proc.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !proc.exists(),
            "the CLI was killed when the login was dropped"
        );
    }
}
