// The script tag with Audience Manager's /event format (`protocol: 'dcs'`), destinations and `autoPage`:
// the features register first, then the standard entry drains the command queue.
import './register-dcs';
import './register-destinations';
import './register-auto-page';
import './script-tag';
