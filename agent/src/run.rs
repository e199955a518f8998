//! One agent run: the actions tried for a message, by the model's tools or the built-in
//! understanding, each carried out to its end by the run's [`Hands`] and noted as a
//! [`Step`], so a run given up meanwhile still does each action once and says so.

use crate::action::{Action, Pressed};
use crate::executor::{nothing_asked, Caller, Declined, Done, Hands, Question};
use std::sync::{Arc, Mutex};

/// One action tried in a run, and how it went.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    pub result: Result<Done, Declined>,
}

/// One agent run: who carries the actions out, and what they did so far.
pub struct Run {
    hands: Hands,
    steps: Mutex<Vec<Step>>,
    /// Actions begun (finished or not).
    started: std::sync::atomic::AtomicUsize,
    /// Told each time an action is noted.
    noted: tokio::sync::Notify,
    /// The question the person was asked before this message, until an action answers it.
    question: Mutex<Option<Question>>,
}

/// The longest wait for actions in flight when a run is given up.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

impl Run {
    pub fn new(hands: Hands) -> Arc<Self> {
        Self::with_question(hands, None)
    }

    /// A run for a message that may answer `question` (asked before, and taken).
    pub fn with_question(hands: Hands, question: Option<Question>) -> Arc<Self> {
        Arc::new(Self {
            hands,
            steps: Mutex::new(Vec::new()),
            started: std::sync::atomic::AtomicUsize::new(0),
            noted: tokio::sync::Notify::new(),
            question: Mutex::new(question),
        })
    }

    /// Carries out `action` (the answer to the question asked, when it is one), and notes
    /// it. The action runs to its end on a task of its own even when the run is given up
    /// meanwhile (a model that timed out during a tool), so it is done once and noted.
    pub async fn perform(
        self: &Arc<Self>,
        caller: Caller,
        action: Action,
    ) -> Result<Done, Declined> {
        self.press(caller, Pressed::Act(action)).await
    }

    /// Carries out a press: a yes answers the question asked, an action is done (or answers
    /// the question, a voice picked for the video waiting).
    pub async fn press(
        self: &Arc<Self>,
        caller: Caller,
        pressed: Pressed,
    ) -> Result<Done, Declined> {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let question = self.answered_by(&pressed);
        let run = self.clone();
        let task = tokio::spawn(async move {
            let (action, result) = match run.hands.answer(&caller, question, &pressed).await {
                Some(answered) => answered,
                None => match pressed {
                    Pressed::Act(action) => {
                        let result = run.hands.perform(&caller, &action).await;
                        (action, result)
                    }
                    Pressed::Yes => nothing_asked(),
                },
            };
            run.lock().push(Step {
                action,
                result: result.clone(),
            });
            run.noted.notify_waiters();
            result
        });
        task.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "an action's task failed");
            Err(Declined(
                "Something went wrong on my side; please try again in a minute.".into(),
            ))
        })
    }

    /// The question, taken, when `pressed` answers it: a yes, or a voice for the video
    /// waiting for one.
    fn answered_by(&self, pressed: &Pressed) -> Option<Question> {
        let mut question = self
            .question
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let answers = matches!(
            (&*question, pressed),
            (Some(_), Pressed::Yes)
                | (
                    Some(Question::Voice(_)),
                    Pressed::Act(Action::ChooseVoice { .. })
                )
        );
        if answers {
            question.take()
        } else {
            None
        }
    }

    /// The question asked, while no action has answered it.
    pub fn open_question(&self) -> Option<Question> {
        self.question
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether any action was begun.
    pub fn acted(&self) -> bool {
        self.started.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Waits (a while) for the actions begun to be noted; then what they did.
    pub async fn settled_steps(&self) -> Vec<Step> {
        let settled = async {
            loop {
                // Registered before the count is read, so a step noted in between wakes it.
                let noted = self.noted.notified();
                if self.lock().len() >= self.started.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                noted.await;
            }
        };
        if tokio::time::timeout(SETTLE, settled).await.is_err() {
            tracing::warn!("actions still running when the run was given up");
        }
        self.steps()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Step>> {
        self.steps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn steps(&self) -> Vec<Step> {
        self.lock().clone()
    }
}
