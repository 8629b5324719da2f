// The script tag with pixel syncs, cookie destinations and single-page apps' automatic page
// views (`autoPage`): the features register first,
// then the standard entry drains the command queue.
import './register-destinations';
import './register-auto-page';
import './script-tag';
