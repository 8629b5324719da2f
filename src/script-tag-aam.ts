// The script tag with Audience Manager's /event format (`protocol: 'dcs'`) and destinations:
// the features register first, then the standard entry drains the command queue.
import './register-dcs';
import './register-destinations';
import './script-tag';
