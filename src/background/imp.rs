use gst::glib;
use gst::subclass::prelude::*;

/// No state: every task gets a thread of its own, joined through its handle.
#[derive(Default)]
pub struct Pool;

#[glib::object_subclass]
impl ObjectSubclass for Pool {
    const NAME: &'static str = "NvrBackgroundPool";
    type Type = super::Pool;
    type ParentType = gst::TaskPool;
}

impl ObjectImpl for Pool {}
impl GstObjectImpl for Pool {}

impl TaskPoolImpl for Pool {
    type Handle = Handle;

    fn push(&self, func: gst::subclass::TaskPoolFunction) -> Result<Option<Handle>, glib::Error> {
        std::thread::Builder::new()
            .name("nvr-background".into())
            .spawn(move || {
                super::lower_this_thread();
                func.call();
            })
            .map(|t| Some(Handle(t)))
            .map_err(|e| {
                glib::Error::new(
                    gst::CoreError::Failed,
                    &format!("cannot start a thread: {e}"),
                )
            })
    }
}

pub struct Handle(std::thread::JoinHandle<()>);

impl gst::TaskHandle for Handle {
    fn join(self) {
        let _ = self.0.join();
    }
}
