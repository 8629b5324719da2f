// The script tag with Audience Manager's /event format (`protocol: 'dcs'`): the codec
// registers first, then the standard entry drains the command queue.
import './dcs-register';
import './script-tag';
